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

  function figure(value, unit) {
    if (value === null || value === undefined) return "—";
    const shown = value.toLocaleString(config.lang === "vi" ? "vi-VN" : "en-GB", {
      maximumFractionDigits: 1,
    });
    return unit === "count" ? shown : `${shown} ${unit}`;
  }

  function lightCell(row, light) {
    const td = row.insertCell();
    const dot = document.createElement("span");
    dot.className = "light light-" + light;
    td.append(dot, L["light_" + light]);
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
      lightCell(row, kpi.light);
      cell(row, config.lang === "vi" ? kpi.name_vi : kpi.name_en);
      cell(row, figure(kpi.actual, kpi.unit), "number actual");
      cell(row, figure(kpi.target, kpi.unit), "number");
      cell(row, figure(kpi.previous, kpi.unit), "number");
      cell(row, `${ARROWS[kpi.trend]} ${L["trend_" + kpi.trend]}`, "trend trend-" + kpi.trend);
    }
    document.getElementById("no-kpis").hidden = answer.rows.length > 0;
  }

  // the sectors' indicators beside the KPIs, for the scopes they are reported for
  async function loadIndicators() {
    if (!(config.scope === "province" || config.scope.startsWith("district:"))) return;
    const query = new URLSearchParams({ scope: config.scope });
    const response = await fetch("/api/indicators/scorecard?" + query, {
      credentials: "same-origin",
    });
    const answer = await response.json();
    if (!response.ok) {
      errorBox.textContent = L.kpi_unavailable.replace("{error}", answer.message);
      return;
    }
    const table = document.getElementById("indicators");
    for (const indicator of answer.rows) {
      const row = table.insertRow();
      row.dataset.indicator = indicator.code;
      row.dataset.light = indicator.light;
      row.dataset.trend = indicator.trend;
      lightCell(row, indicator.light);
      cell(row, config.lang === "vi" ? indicator.name_vi : indicator.name_en);
      cell(row, indicator.period);
      cell(row, figure(indicator.actual, indicator.unit), "number actual");
      cell(row, figure(indicator.target, indicator.unit), "number");
      cell(row, figure(indicator.previous, indicator.unit), "number");
      cell(row, `${ARROWS[indicator.trend]} ${L["trend_" + indicator.trend]}`,
        "trend trend-" + indicator.trend);
    }
    document.getElementById("indicators-section").hidden = false;
    document.getElementById("no-indicators").hidden = answer.rows.length > 0;
  }

  let kpisLoaded = false;
  let indicatorsLoaded = false;
  window.scorecard = { ready: () => kpisLoaded && indicatorsLoaded };
  function failed(error) {
    errorBox.textContent = L.kpi_unavailable.replace("{error}", error.message);
  }
  load().catch(failed).finally(() => { kpisLoaded = true; });
  loadIndicators().catch(failed).finally(() => { indicatorsLoaded = true; });
})();
