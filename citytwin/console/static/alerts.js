// The alert inbox: reads and acts through /api/alerts with the browser's login, and
// follows /api/alerts/stream (server-sent events) so new and changed alerts show without
// a reload. The role only decides which buttons are drawn; the API checks it again.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const L = config.labels;
  const RANK = { critical: 4, major: 3, warning: 2, info: 1 };
  const alerts = new Map();
  const body = document.getElementById("alerts");
  const errorBox = document.getElementById("alerts-error");
  const live = document.getElementById("live");
  const form = document.getElementById("filters");
  const detail = document.getElementById("detail");
  let source = null;
  let shownDetail = null;
  let loading = 0;
  let asked = 0;

  function filters() {
    const wanted = {};
    for (const [name, value] of new FormData(form).entries()) {
      if (value) wanted[name] = value;
    }
    return wanted;
  }

  function matches(alert, wanted) {
    return Object.entries(wanted).every(([name, value]) => String(alert[name]) === value);
  }

  function when(iso) {
    return new Date(iso).toLocaleString(config.lang === "vi" ? "vi-VN" : "en-GB", {
      timeZone: "Asia/Ho_Chi_Minh",
    });
  }

  function ordered() {
    const wanted = filters();
    return [...alerts.values()]
      .filter((alert) => matches(alert, wanted))
      .sort(
        (a, b) =>
          (a.state === "resolved") - (b.state === "resolved") ||
          RANK[b.severity] - RANK[a.severity] ||
          b.opened_at.localeCompare(a.opened_at) ||
          a.id.localeCompare(b.id)
      );
  }

  function cell(row, textValue, className) {
    const td = row.insertCell();
    td.textContent = textValue;
    if (className) td.className = className;
    return td;
  }

  function button(label, action, alert, extra) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    b.addEventListener("click", (event) => {
      event.stopPropagation();
      act(alert.id, action, extra);
    });
    return b;
  }

  function render() {
    body.replaceChildren();
    const rows = ordered();
    for (const alert of rows) {
      const row = body.insertRow();
      row.className = "alert " + alert.state;
      row.dataset.alert = alert.id;
      row.dataset.state = alert.state;
      const sev = document.createElement("span");
      sev.className = "sev sev-" + alert.severity;
      sev.textContent = L["severity_" + alert.severity] || alert.severity;
      row.insertCell().append(sev);
      cell(row, L["state_" + alert.state] || alert.state, "state state-" + alert.state);
      cell(row, when(alert.opened_at));
      cell(row, alert.site);
      cell(row, alert.zone ? alert.device + " · " + alert.zone : alert.device);
      cell(row, L["rule_" + alert.rule_type] || alert.rule_type);
      cell(row, config.lang === "vi" ? alert.message_vi : alert.message_en, "message");
      cell(row, alert.assignee || "");
      const actions = row.insertCell();
      if (config.canAct && alert.state === "open") {
        actions.append(button(L.alerts_acknowledge, "acknowledge", alert));
      }
      if (config.canAct && alert.state !== "resolved") {
        actions.append(button(L.alerts_resolve, "resolve", alert, { resolution: "manual" }));
        actions.append(
          button(L.alerts_false_alarm, "resolve", alert, { resolution: "false_alarm" })
        );
      }
      row.addEventListener("click", () => showDetail(alert.id));
    }
    document.getElementById("no-alerts").hidden = rows.length > 0;
  }

  async function call(path, options) {
    const response = await fetch(path, {
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      ...options,
    });
    const answer = response.headers.get("content-type")?.includes("json")
      ? await response.json()
      : null;
    if (!response.ok) {
      throw new Error((answer && answer.message) || response.status + " " + response.statusText);
    }
    return answer;
  }

  async function load() {
    const query = new URLSearchParams({ ...filters(), limit: "200" });
    loading += 1;
    const mine = ++asked;
    try {
      const page = await call("/api/alerts?" + query);
      if (mine !== asked) return; // the filters changed again meanwhile
      // the list is replaced when the answer is here, so rows stay clickable until then
      alerts.clear();
      for (const alert of page.alerts) alerts.set(alert.id, alert);
      errorBox.textContent = "";
    } catch (error) {
      errorBox.textContent = L.alerts_refused.replace("{error}", error.message);
    } finally {
      loading -= 1;
    }
    render();
  }

  async function act(id, action, extra) {
    try {
      const alert = await call(`/api/alerts/${id}/${action}`, {
        method: "POST",
        body: JSON.stringify(extra || {}),
      });
      alerts.set(alert.id, alert);
      errorBox.textContent = "";
      render();
      if (shownDetail === id) showDetail(id);
    } catch (error) {
      errorBox.textContent = L.alerts_refused.replace("{error}", error.message);
    }
  }

  async function showDetail(id) {
    const alert = alerts.get(id);
    if (!alert) return;
    shownDetail = id;
    let history = [];
    try {
      history = await call(`/api/alerts/${id}/history`);
    } catch (error) {
      errorBox.textContent = L.alerts_refused.replace("{error}", error.message);
    }
    detail.replaceChildren();
    detail.dataset.alert = id;
    const heading = document.createElement("h2");
    heading.textContent = config.lang === "vi" ? alert.message_vi : alert.message_en;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = L.alerts_close;
    close.addEventListener("click", () => {
      detail.hidden = true;
      shownDetail = null;
    });
    detail.append(heading, close);
    if (alert.evidence) {
      const caption = document.createElement("h3");
      caption.textContent = L.alerts_evidence;
      const img = document.createElement("img");
      img.id = "evidence";
      img.alt = L.alerts_evidence;
      img.src = alert.evidence;
      detail.append(caption, img);
    }
    const title = document.createElement("h3");
    title.textContent = L.alerts_history;
    const list = document.createElement("ol");
    list.id = "history";
    for (const entry of history) {
      const item = document.createElement("li");
      item.dataset.action = entry.action;
      const what = L["action_" + entry.action] || entry.action;
      item.textContent = `${when(entry.at)} · ${entry.actor} · ${what}` +
        (entry.note ? ` — ${entry.note}` : "");
      list.append(item);
    }
    detail.append(title, list);
    if (config.canAct) detail.append(actionForm(id));
    detail.hidden = false;
  }

  function actionForm(id) {
    // a note (in any state) and an assignee, each one API call with the input's text
    const form = document.createElement("form");
    form.id = "detail-actions";
    form.addEventListener("submit", (event) => event.preventDefault());
    for (const [action, field, label, placeholder, size] of [
      ["notes", "text", L.alerts_add_note, L.alerts_note, 40],
      ["assign", "assignee", L.alerts_assign, L.alerts_assignee, 16],
    ]) {
      const input = document.createElement("input");
      input.name = field;
      input.size = size;
      input.placeholder = placeholder;
      const send = document.createElement("button");
      send.type = "button";
      send.textContent = label;
      send.dataset.action = action;
      send.addEventListener("click", () => {
        if (input.value.trim()) act(id, action, { [field]: input.value.trim() });
      });
      form.append(input, send, " ");
    }
    return form;
  }

  function follow() {
    source = new EventSource("/api/alerts/stream");
    source.onopen = () => {
      live.textContent = "● " + L.alerts_live;
      live.className = "status on";
    };
    source.onerror = () => {
      live.textContent = "○ " + L.alerts_offline;
      live.className = "status off";
    };
    source.addEventListener("alert", (event) => {
      const alert = JSON.parse(event.data);
      alerts.set(alert.id, alert);
      render();
      if (shownDetail === alert.id) showDetail(alert.id);
    });
  }

  form.addEventListener("change", load);
  form.addEventListener("submit", (event) => event.preventDefault());

  window.alertsInbox = {
    ready: () => loading === 0 && source !== null && source.readyState === EventSource.OPEN,
    stop: () => source && source.close(),
  };
  load().then(follow);
})();
