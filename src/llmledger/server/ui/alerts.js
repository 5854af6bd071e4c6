// llmledger web UI: the Alerts page (rules, the form to add one, the delivery history) and
// the month-end forecast on the Overview. Helpers come from app.js (`ui`), so this module
// adds pages without a second copy of the DOM and API code. Text from the API goes into
// the page as text nodes only.

"use strict";

const KINDS = ["threshold", "spike", "digest"];
const METRICS = ["cost", "tokens", "error_count"];
const SCOPES = ["all", "experiment", "model", "family", "provider", "tag", "user"];
const WINDOWS = ["hour", "day", "month"];
const PERIODS = ["day", "week"];
const CHANNELS = ["webhook", "slack", "email"];

/** POST/PUT/DELETE with the saved token; the error names the field (422) like `api`. */
async function send(ui, method, path, body) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  const token = ui.savedToken();
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let out = null;
  try {
    out = await res.json();
  } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const detail = ui.readableDetail(out && out.detail !== undefined ? out.detail : res.statusText);
    throw new Error(res.status === 422 ? detail : `${res.status}: ${detail}`);
  }
  return out;
}

function select(ui, id, options, value) {
  return ui.el("select", { class: "input", id }, options.map((o) => ui.el("option", { value: o, text: o, selected: o === value })));
}

function field(ui, label, control, cls) {
  return ui.el("label", { class: "field" + (cls ? " " + cls : "") }, ui.el("span", { text: label }), control);
}

function describe(rule) {
  const scope = rule.scope === "all" ? "all experiments" : `${rule.scope} ${rule.scope_value}`;
  if (rule.kind === "digest") return `${rule.period === "week" ? "weekly" : "daily"} spend digest of ${scope}`;
  const metric = rule.metric.replace("_", " ");
  if (rule.kind === "spike") return `this hour's ${metric} > ${rule.k}\u00d7 the median of the trailing ${rule.window} (${scope})`;
  const limit = rule.metric === "cost" ? "$" + rule.threshold : String(rule.threshold);
  return `${metric} over the last ${rule.window} > ${limit} (${scope})`;
}

function stateBadge(ui, rule) {
  if (rule.kind === "digest") return ui.el("span", { class: "badge unset", text: rule.enabled ? "scheduled" : "off" });
  if (!rule.enabled) return ui.el("span", { class: "badge unset", text: "off" });
  return rule.state.firing
    ? ui.el("span", { class: "badge error", text: "firing" })
    : ui.el("span", { class: "badge ok", text: "ok" });
}

function rulesTable(ui, rules, reload) {
  const { el } = ui;
  if (!rules.length) return el("div", { class: "message", text: "No alert rules yet: add one below." });
  const rows = rules.map((r) => el(
    "tr",
    { dataset: { ruleId: String(r.rule_id) } },
    el("td", { text: r.name }),
    el("td", { text: r.kind }),
    el("td", { text: describe(r) }),
    el("td", { class: "mono", style: { whiteSpace: "pre-line" }, text: r.channels.map((c) => `${c.type}: ${c.url || c.to}`).join("\n") }),
    el("td", null, stateBadge(ui, r)),
    el("td", { class: "num", text: r.state.value === null || r.state.value === undefined ? "\u2014" : (r.metric === "cost" ? ui.fmtCost(r.state.value) : String(r.state.value)) }),
    el("td", null, el("button", {
      class: "btn small", type: "button", text: "Delete", dataset: { testid: "delete-rule" },
      on: { click: async () => { await send(ui, "DELETE", `/api/alerts/rules/${r.rule_id}`); reload(); } },
    })),
  ));
  return el("div", { class: "table-wrap" }, el("table", { class: "grid", id: "alert-rules" },
    el("thead", null, el("tr", null, ["Name", "Kind", "Condition", "Channels", "State", "Value", ""].map((h) => el("th", { text: h })))),
    el("tbody", null, rows)));
}

function ruleForm(ui, reload) {
  const { el } = ui;
  const name = el("input", { class: "input", id: "rule-name", placeholder: "Daily spend" });
  const kind = select(ui, "rule-kind", KINDS, "threshold");
  const metric = select(ui, "rule-metric", METRICS, "cost");
  const scope = select(ui, "rule-scope", SCOPES, "all");
  const scopeValue = el("input", { class: "input", id: "rule-scope-value", placeholder: "id, model, key=value\u2026" });
  const windowSel = select(ui, "rule-window", WINDOWS, "day");
  const threshold = el("input", { class: "input", id: "rule-threshold", type: "number", min: "0", step: "any", value: "10" });
  const k = el("input", { class: "input", id: "rule-k", type: "number", min: "1", step: "any", value: "3" });
  const period = select(ui, "rule-period", PERIODS, "day");
  const chType = select(ui, "rule-channel-type", CHANNELS, "webhook");
  const chTarget = el("input", { class: "input", id: "rule-channel-target", placeholder: "https://\u2026 or name@example.com" });
  const error = el("div", { class: "banner error hidden", id: "rule-error", attrs: { role: "alert" } });
  const submit = async (ev) => {
    ev.preventDefault();
    error.classList.add("hidden");
    const channel = chType.value === "email" ? { type: "email", to: chTarget.value.trim() } : { type: chType.value, url: chTarget.value.trim() };
    const body = {
      name: name.value.trim(), kind: kind.value, metric: metric.value, scope: scope.value,
      scope_value: scope.value === "all" ? null : scopeValue.value.trim(), window: windowSel.value,
      threshold: Number(threshold.value || 0), k: Number(k.value || 3), period: period.value, channels: [channel],
    };
    try {
      await send(ui, "POST", "/api/alerts/rules", body);
      reload();
    } catch (err) {
      error.textContent = err.message;
      error.classList.remove("hidden");
    }
  };
  return el("form", { class: "panel", id: "rule-form", on: { submit } },
    el("div", { class: "panel-head", text: "New rule" }),
    el("div", { class: "filters" },
      field(ui, "Name", name, "wide"), field(ui, "Kind", kind, "narrow"), field(ui, "Metric", metric, "narrow"),
      field(ui, "Scope", scope, "narrow"), field(ui, "Scope value", scopeValue),
      field(ui, "Window", windowSel, "narrow"), field(ui, "Threshold", threshold, "narrow"),
      field(ui, "Spike k\u00d7", k, "narrow"), field(ui, "Digest every", period, "narrow"),
      field(ui, "Channel", chType, "narrow"), field(ui, "URL or e-mail", chTarget, "wide"),
      el("button", { class: "btn primary", type: "submit", id: "rule-submit", text: "Add rule" })),
    el("div", { class: "panel-body" }, error,
      el("div", { class: "muted", text: "Threshold: a metric over a rolling window of whole hours (the current hour and the ones before it). Spike: this hour's value above k\u00d7 the median hour of the trailing window, and above the threshold. Digest: the last day's (or week's) spend, top models and users, and the change against the period before, once per period (UTC)." })));
}

function historyTable(ui, events) {
  const { el } = ui;
  if (!events.length) return el("div", { class: "message", text: "Nothing sent yet." });
  const rows = events.map((e) => el(
    "tr",
    { dataset: { status: e.status } },
    el("td", { class: "nowrap", text: ui.fmtTime(e.time_ms) }),
    el("td", { text: e.rule_name }),
    el("td", { text: e.kind }),
    el("td", { class: "mono", text: `${e.channel}: ${e.target}` }),
    el("td", null, el("span", { class: "badge " + (e.status === "delivered" ? "ok" : "error"), text: e.status })),
    el("td", { class: "num", text: String(e.attempts) }),
    el("td", { class: "muted", text: e.error || e.message }),
  ));
  return el("div", { class: "table-wrap" }, el("table", { class: "grid", id: "alert-history" },
    el("thead", null, el("tr", null, ["Time", "Rule", "Event", "Channel", "Delivery", "Attempts", "Message / error"].map((h) => el("th", { text: h })))),
    el("tbody", null, rows)));
}

export async function renderAlerts(ui, signal) {
  const { el } = ui;
  ui.setCrumbs([{ text: "Experiments", href: "#/" }, { text: "Alerts" }]);
  const rulesBox = el("div", { class: "panel", style: { marginBottom: "16px" } });
  const historyBox = el("div", { class: "panel", style: { marginTop: "16px" } });
  const load = async () => {
    const [rules, history] = await Promise.all([
      ui.api("/api/alerts/rules", null, signal),
      ui.api("/api/alerts/history", { limit: 200 }, signal),
    ]);
    ui.clear(rulesBox).append(el("div", { class: "panel-head", text: "Rules" }), rulesTable(ui, rules.rules, reload));
    ui.clear(historyBox).append(el("div", { class: "panel-head", text: "History" }), historyTable(ui, history.events));
  };
  const reload = () => load().catch((err) => ui.showError(rulesBox, err));
  ui.app.append(
    el("div", { class: "page-head" }, el("div", null, el("h1", { class: "page-title", text: "Alerts" }),
      el("div", { class: "page-sub", text: "Rules the server checks against the spend, with webhook, Slack and e-mail deliveries." }))),
    rulesBox, ruleForm(ui, reload), historyBox,
  );
  await load();
}

/** The "Projected month-end" KPI of an experiment's Overview, filled in when it loads. */
export function forecastKpi(ui, expId, signal) {
  const { el } = ui;
  const value = el("div", { class: "value", text: "\u2026", dataset: { testid: "forecast-value" } });
  const sub = el("div", { class: "sub" });
  const card = el("div", { class: "panel kpi", dataset: { testid: "forecast" } },
    el("div", { class: "label", text: "Projected month-end" }), value, sub);
  ui.api("/api/forecast", { experiment_id: expId }, signal).then((f) => {
    value.textContent = ui.fmtCost(f.projected);
    const days = f.days_left.toFixed(1);
    sub.append(el("span", null, "MTD ", el("b", { text: ui.fmtCost(f.month_to_date) }), ` + ${ui.fmtCost(f.daily_mean)}/day \u00d7 ${days} d`));
    card.title = `${f.formula}\n= ${ui.fmtCost(f.month_to_date)} + (${ui.fmtCost(f.last_7_days)} \u00f7 7) \u00d7 ${days} days`;
  }).catch(() => {
    value.textContent = "\u2014";
  });
  return card;
}
