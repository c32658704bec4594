// The KPI scorecard: one scope and period from /api/kpis/scorecard, each KPI with its
// traffic light against the target and its trend against the period before.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const L = config.labels;
  const ARROWS = { improving: "▲", worsening: "▼", steady: "▶", new: "•" };
  const body = document.getElementById("scorecard");
  const errorBox = document.getElementById("kpis-error");
  document.getElementById("scope").value = config.scope;
  document.getElementById("window").value = config.window;
  let loaded = false;

  function figure(value, unit) {
    if (value === null || value === undefined) return "—";
    const shown = value.toLocaleString(config.lang === "vi" ? "vi-VN" : "en-GB", {
      maximumFractionDigits: 1,
    });
    return unit === "count" ? shown : `${shown} ${unit}`;
  }

  function cell(row, textValue, className) {
    const td = row.insertCell();
    td.textContent = textValue;
    if (className) td.className = className;
    return td;
  }

  async function load() {
    const query = new URLSearchParams({ scope: config.scope, window: config.window });
    if (config.at) query.set("at", config.at);
    const response = await fetch("/api/kpis/scorecard?" + query, { credentials: "same-origin" });
    const answer = await response.json();
    loaded = true;
    if (!response.ok) {
      errorBox.textContent = L.kpi_unavailable.replace("{error}", answer.message);
      return;
    }
    const locale = config.lang === "vi" ? "vi-VN" : "en-GB";
    const options = { timeZone: "Asia/Ho_Chi_Minh", dateStyle: "short", timeStyle: "short" };
    document.getElementById("period").textContent =
      `${new Date(answer.start).toLocaleString(locale, options)} → ` +
      `${new Date(answer.end).toLocaleString(locale, options)}`;
    for (const kpi of answer.rows) {
      const row = body.insertRow();
      row.dataset.kpi = kpi.kpi;
      row.dataset.light = kpi.light;
      row.dataset.trend = kpi.trend;
      const light = row.insertCell();
      const dot = document.createElement("span");
      dot.className = "light light-" + kpi.light;
      light.append(dot, L["light_" + kpi.light]);
      cell(row, config.lang === "vi" ? kpi.name_vi : kpi.name_en);
      cell(row, figure(kpi.actual, kpi.unit), "number actual");
      cell(row, figure(kpi.target, kpi.unit), "number");
      cell(row, figure(kpi.previous, kpi.unit), "number");
      cell(row, `${ARROWS[kpi.trend]} ${L["trend_" + kpi.trend]}`, "trend trend-" + kpi.trend);
    }
    document.getElementById("no-kpis").hidden = answer.rows.length > 0;
  }

  window.scorecard = { ready: () => loaded };
  load().catch((error) => {
    loaded = true;
    errorBox.textContent = L.kpi_unavailable.replace("{error}", error.message);
  });
})();
