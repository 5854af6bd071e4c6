// llmledger web UI: experiments, traces, trace waterfall, overview charts, users, sessions.
//
// Plain ES2020 module, no build step. Every string that comes from the API (names, prompts,
// outputs, tags, model names) goes into the page as a text node (see `el`), never as HTML.

"use strict";

import { forecastKpi, renderAlerts } from "./alerts.js";

// ---------------------------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------------------------

/**
 * Create an element. `props`: class, title, href, text (text content), dataset, attrs
 * (static attribute names only), on (event handlers), style (CSSOM properties).
 * Children: strings and numbers become text nodes; null/false/undefined are skipped.
 */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "title") node.title = String(value);
      else if (key === "href") node.setAttribute("href", safeHref(value));
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") Object.assign(node.style, value);
      else if (key === "on") {
        for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      } else if (key === "attrs") {
        for (const [a, v] of Object.entries(value)) {
          if (v !== undefined && v !== null && v !== false) node.setAttribute(a, String(v));
        }
      } else node[key] = value; // properties such as value, type, disabled, selected
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
  return node;
}

/** Only in-app hash links are produced; anything else becomes inert. */
function safeHref(value) {
  const s = String(value);
  return s.startsWith("#") ? s : "#";
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

const DASH = "\u2014";
const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function isNum(x) {
  return typeof x === "number" && Number.isFinite(x);
}

/** Token counts and other integers: `9,554`; unknown is an em dash, never 0. */
function fmtInt(n) {
  return isNum(n) ? INT.format(n) : DASH;
}

function groupThousands(intPart) {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * USD amounts. From $0.001 up: 6 decimals (`$0.019842`); below: 4 significant digits written
 * out in full, trailing zeros dropped (`$0.0000126`, `$0.00000016`); $1,000 and more: cents.
 * Unknown (null) is an em dash.
 */
function fmtCost(x) {
  if (!isNum(x)) return DASH;
  if (x === 0) return "$0.00";
  const sign = x < 0 ? "-" : "";
  const a = Math.abs(x);
  let s;
  if (a >= 1000) s = a.toFixed(2);
  else if (a >= 0.001) s = a.toFixed(6);
  else {
    const digits = Math.min(20, 3 - Math.floor(Math.log10(a)));
    s = a.toFixed(digits).replace(/0+$/, "").replace(/\.$/, "");
  }
  const [i, f] = s.split(".");
  return `${sign}$${groupThousands(i)}${f !== undefined ? "." + f : ""}`;
}

/** Axis labels for cost charts: short, still exact enough to read. */
function fmtCostAxis(x) {
  if (!isNum(x)) return "";
  if (x === 0) return "$0";
  const a = Math.abs(x);
  if (a >= 100) return "$" + INT.format(x);
  if (a >= 1) return "$" + x.toFixed(2);
  if (a >= 0.01) return "$" + x.toFixed(3).replace(/0+$/, "");
  return "$" + Number(x.toPrecision(2)).toString();
}

function fmtTokensShort(n) {
  if (!isNum(n)) return "";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1).replace(/\.0$/, "") + "B";
  if (a >= 1e6) return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
  if (a >= 1e3) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + "k";
  return String(n);
}

function fmtDuration(ms) {
  if (!isNum(ms)) return DASH;
  if (ms < 1) return ms <= 0 ? "0 ms" : ms.toFixed(2) + " ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  const m = Math.floor(ms / 60000);
  const s = Math.round((ms % 60000) / 1000);
  return `${m}m ${s}s`;
}

function fmtPercent(x) {
  if (!isNum(x)) return DASH;
  if (x > 0 && x < 0.001) return "<0.1%";
  return (x * 100).toFixed(x < 0.1 ? 1 : 0) + "%";
}

const TIME_FMT = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const HOUR_FMT = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const DAY_FMT = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** Epoch milliseconds in the browser's local time. */
function fmtTime(ms) {
  return isNum(ms) ? TIME_FMT.format(new Date(ms)) : DASH;
}

const SHORT_FMT = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** Like fmtTime, without the year when it is this year. */
function fmtTimeShort(ms) {
  if (!isNum(ms)) return DASH;
  const d = new Date(ms);
  return d.getFullYear() === new Date().getFullYear() ? SHORT_FMT.format(d) : TIME_FMT.format(d);
}

function tzLabel() {
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const h = String(Math.floor(Math.abs(off) / 60)).padStart(2, "0");
  const m = String(Math.abs(off) % 60).padStart(2, "0");
  let name = "";
  try {
    name = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (_) { /* older browsers */ }
  return `Times in local time${name ? " (" + name + ", " : " ("}UTC${sign}${h}:${m})`;
}

/**
 * A per-token rate given as an exact decimal string ("0.0000025") times one million, exactly
 * ("2.5"), by moving the decimal point: no floating point rounding.
 */
function timesMillion(rate) {
  let s = String(rate).trim();
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) return null;
  if (/[eE]/.test(s)) s = Number(s).toFixed(20);
  const neg = s.startsWith("-");
  if (neg) s = s.slice(1);
  let [i, f = ""] = s.split(".");
  f = f.padEnd(6, "0");
  i = (i + f.slice(0, 6)).replace(/^0+(?=\d)/, "");
  f = f.slice(6).replace(/0+$/, "");
  return (neg ? "-" : "") + i + (f ? "." + f : "");
}

function fmtRatePerMillion(rate) {
  const m = timesMillion(rate);
  if (m === null) return String(rate);
  const [i, f = ""] = m.split(".");
  return "$" + groupThousands(i) + "." + f.padEnd(2, "0");
}

function prettyJson(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch (_) {
    return String(value);
  }
}

function humanKey(key) {
  const s = String(key).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, params, signal) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((item) => qs.append(k, item));
    else qs.append(k, String(v));
  }
  const query = qs.toString();
  const headers = { Accept: "application/json" };
  const token = savedToken();
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(path + (query ? "?" + query : ""), { signal, headers });
  let body = null;
  try {
    body = await res.json();
  } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const detail = readableDetail(body && body.detail !== undefined ? body.detail : res.statusText);
    if (res.status === 401) {
      showTokenForm(token ? "The access token was not accepted." : "This server requires an access token.");
      const err = new ApiError(401, detail);
      err.name = "AuthError";
      throw err;
    }
    // A rejected parameter (422) is the user's input: say which and why, without the code.
    throw new ApiError(res.status, res.status === 422 ? detail : `${res.status}: ${detail}`);
  }
  return body;
}

/**
 * An error body's `detail` as a sentence: FastAPI's validation list
 * (`[{loc: ["query", "min_cost"], msg: "..."}]`) becomes "Invalid min_cost: ...".
 */
function readableDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((e) => {
      const loc = (e && e.loc) || [];
      const field = loc.filter((part) => part !== "query" && part !== "body").join(".");
      const msg = (e && e.msg) || "invalid value";
      return field ? `Invalid ${field}: ${msg}` : msg;
    }).join("; ");
  }
  return JSON.stringify(detail);
}

/** Errors that need no message where they happen (a newer page, or the token form, took over). */
function isQuiet(err) {
  return !!err && (err.name === "AbortError" || err.name === "AuthError");
}

// A server started with --auth-token wants `Authorization: Bearer <token>` on /api: the token
// is asked for once and kept for this browser tab only (sessionStorage).
const TOKEN_KEY = "llmledger.authToken";

function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (_) {
    return "";
  }
}

function showTokenForm(message) {
  if (document.getElementById("token-form")) return;
  newPage();
  setCrumbs([{ text: "Sign in" }]);
  const input = el("input", { class: "input", type: "password", id: "token-input", placeholder: "token", autocomplete: "current-password", style: { width: "320px" } });
  const form = el(
    "form",
    { class: "panel panel-body", id: "token-form", style: { maxWidth: "520px", margin: "40px auto" },
      on: { submit: (ev) => {
        ev.preventDefault();
        try {
          sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        } catch (_) { /* storage disabled: nothing to keep */ }
        experimentsCache = null;
        route();
      } } },
    el("h1", { class: "page-title", text: "Access token" }),
    el("p", { class: "muted", text: message + " Enter the token the server was started with (--auth-token). It is kept for this tab only." }),
    el("div", { style: { display: "flex", gap: "8px" } }, input, el("button", { class: "btn primary", type: "submit", text: "Continue" })),
  );
  app.appendChild(form);
  app.dataset.state = "auth";
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Routing and page lifecycle
// ---------------------------------------------------------------------------------------------

const app = document.getElementById("app");
const crumbs = document.getElementById("crumbs");
let pageAbort = new AbortController();
let pageCharts = [];
let experimentsCache = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (_) {
      return p;
    }
  });
  return { parts, query };
}

function hashFor(parts, query) {
  const path = "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
  const qs = query ? query.toString() : "";
  return qs ? path + "?" + qs : path;
}

function navigate(parts, query, replace) {
  const h = hashFor(parts, query);
  if (replace) history.replaceState(null, "", h);
  if (location.hash !== h) {
    if (replace) route();
    else location.hash = h;
  } else if (!replace) route();
}

// #app carries data-seq (one more for each page drawn) and data-state ("loading", then "ready"
// once the page and its data are on screen), so tests and scripts know when to look.
let pageSeq = 0;

function newPage() {
  pageAbort.abort();
  pageAbort = new AbortController();
  for (const c of pageCharts) c.destroy();
  pageCharts = [];
  clear(app);
  pageSeq += 1;
  app.dataset.seq = String(pageSeq);
  app.dataset.state = "loading";
  return pageAbort.signal;
}

function setCrumbs(items) {
  clear(crumbs);
  document.title = items.length > 1 ? `${items[items.length - 1].text} \u00b7 llmledger` : "llmledger";
  items.forEach((item, idx) => {
    if (idx > 0) crumbs.appendChild(el("span", { class: "sep", text: "/" }));
    if (item.href && idx < items.length - 1) crumbs.appendChild(el("a", { href: item.href, text: item.text }));
    else crumbs.appendChild(el("span", { class: "current", text: item.text, title: item.text }));
  });
}

async function experiments(signal, fresh) {
  if (!experimentsCache || fresh) {
    const body = await api("/api/experiments", null, signal);
    experimentsCache = body.experiments || [];
  }
  return experimentsCache;
}

async function experimentName(id, signal) {
  try {
    const list = await experiments(signal);
    const found = list.find((e) => String(e.experiment_id) === String(id));
    return found ? found.name : `Experiment ${id}`;
  } catch (_) {
    return `Experiment ${id}`;
  }
}

function showError(target, err) {
  if (isQuiet(err)) return;
  clear(target);
  target.appendChild(el("div", { class: "message error", text: err && err.message ? err.message : String(err) }));
}

/** What alerts.js draws with (its pages share these helpers). */
function alertsUi() {
  return { el, clear, api, app, setCrumbs, showError, savedToken, readableDetail, fmtCost, fmtTime };
}

function route() {
  const { parts, query } = parseHash();
  const signal = newPage();
  const render = () => {
    if (parts.length === 0 || (parts.length === 1 && parts[0] === "experiments")) {
      return renderHome(signal);
    }
    if (parts[0] === "experiments" && parts.length >= 2) {
      const tab = parts[2] || "traces";
      if (tab === "overview") return renderOverview(parts[1], query, signal);
      if (tab === "users") return renderUsers(parts[1], parts[3], query, signal);
      if (tab === "sessions") return renderSessions(parts[1], parts[3], query, signal);
      return renderTraces(parts[1], query, signal);
    }
    if (parts[0] === "traces" && parts.length >= 2) return renderTrace(parts[1], query, signal);
    if (parts[0] === "alerts") return renderAlerts(alertsUi(), signal);
    if (parts[0] === "prices") return renderPrices(query, signal);
    setCrumbs([{ text: "Not found" }]);
    app.appendChild(el("div", { class: "message", text: "No such page. " }, el("a", { href: "#/", text: "Go to experiments" })));
    return null;
  };
  const seq = pageSeq;
  Promise.resolve()
    .then(render)
    .catch((err) => showError(app, err))
    .then(() => {
      if (seq === pageSeq) app.dataset.state = "ready";
    });
}

// ---------------------------------------------------------------------------------------------
// Shared bits
// ---------------------------------------------------------------------------------------------

function statusBadge(status) {
  const s = String(status || "UNSET").toUpperCase();
  const cls = s === "OK" ? "ok" : s === "ERROR" ? "error" : s === "IN_PROGRESS" ? "warn" : "unset";
  return el("span", { class: `badge ${cls}` }, el("span", { class: "dot" }), s.replace("_", " "));
}

/** Chips for a list of model names; with `max`, the rest collapse into a "+N" chip. */
function modelChips(models, max) {
  if (!models || models.length === 0) return el("span", { class: "faint", text: DASH });
  const shown = max && models.length > max ? models.slice(0, max) : models;
  const rest = models.slice(shown.length);
  return el(
    "span",
    { class: max ? "chips-line" : "" },
    shown.map((m) => el("span", { class: "chip model", text: m, title: m })),
    rest.length ? el("span", { class: "chip more", text: `+${rest.length}`, title: models.join(", ") }) : null,
  );
}

function tagChips(tags, max) {
  const entries = Object.entries(tags || {});
  if (entries.length === 0) return el("span", { class: "faint", text: DASH });
  const shown = max && entries.length > max ? entries.slice(0, max) : entries;
  const rest = entries.slice(shown.length);
  return el(
    "span",
    { class: max ? "chips-stack" : "" },
    shown.map(([k, v]) => el("span", { class: "chip tag", title: `${k}: ${v}` }, el("span", { class: "k", text: k + ": " }), String(v))),
    rest.length ? el("span", { class: "chip more", text: `+${rest.length}`, title: rest.map(([k, v]) => `${k}: ${v}`).join("\n") }) : null,
  );
}

function costCell(cost) {
  const total = cost ? cost.total_cost : null;
  const exact = cost && cost.decimals && cost.decimals.total_cost;
  return el("span", { text: fmtCost(total), title: exact ? "$" + exact : isNum(total) ? "$" + total : "cost unknown" });
}

function expTabs(expId, active) {
  return el(
    "div",
    { class: "tabs" },
    el("a", { class: "tab" + (active === "traces" ? " active" : ""), href: hashFor(["experiments", expId, "traces"]), text: "Traces" }),
    el("a", { class: "tab" + (active === "overview" ? " active" : ""), href: hashFor(["experiments", expId, "overview"]), text: "Overview" }),
    el("a", { class: "tab" + (active === "users" ? " active" : ""), href: hashFor(["experiments", expId, "users"]), text: "Users" }),
    el("a", { class: "tab" + (active === "sessions" ? " active" : ""), href: hashFor(["experiments", expId, "sessions"]), text: "Sessions" }),
  );
}

function kpi(label, value, sub, testid) {
  return el(
    "div",
    { class: "panel kpi", dataset: testid ? { testid } : undefined },
    el("div", { class: "label", text: label }),
    el("div", { class: "value", text: value, dataset: testid ? { testid: testid + "-value" } : undefined }),
    sub ? el("div", { class: "sub" }, sub) : null,
  );
}

const HOUR = 3600000;
const DAY = 24 * HOUR;
const RANGES = {
  "1h": { label: "Last hour", ms: HOUR },
  "24h": { label: "Last 24 hours", ms: DAY },
  "7d": { label: "Last 7 days", ms: 7 * DAY },
  "30d": { label: "Last 30 days", ms: 30 * DAY },
};

/** {start, end} in ms for a query's range (`range`, or `from`/`to` for custom), or nulls. */
function rangeFromQuery(query, fallback) {
  const range = query.get("range") || fallback;
  if (range === "custom") {
    const from = Number(query.get("from"));
    const to = Number(query.get("to"));
    return {
      range,
      start: Number.isFinite(from) && query.get("from") ? from : null,
      end: Number.isFinite(to) && query.get("to") ? to : null,
    };
  }
  if (RANGES[range]) {
    const end = Date.now();
    return { range, start: end - RANGES[range].ms, end: null };
  }
  return { range: "all", start: null, end: null };
}

/** `datetime-local` value for epoch ms, in local time. */
function toLocalInput(ms) {
  if (!isNum(ms)) return "";
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(value) {
  if (!value) return null;
  const t = new Date(value).getTime();
  return Number.isFinite(t) ? t : null;
}

// ---------------------------------------------------------------------------------------------
// Home: experiments
// ---------------------------------------------------------------------------------------------

async function renderHome(signal) {
  setCrumbs([{ text: "Experiments" }]);
  const body = el("div", { class: "panel loading" }, el("div", { class: "message", text: "Loading experiments\u2026" }));
  app.append(
    el("div", { class: "page-head" }, el("div", null, el("h1", { class: "page-title", text: "Experiments" }),
      el("div", { class: "page-sub", text: "Each experiment groups the traces recorded under it." }))),
    body,
  );
  const list = await experiments(signal, true);
  body.classList.remove("loading");
  clear(body);
  if (list.length === 0) {
    body.appendChild(el("div", { class: "message", text: "No experiments yet. Record a trace with the SDK (llmledger demo) to see it here." }));
    return;
  }
  const rows = list.map((e) => {
    const id = String(e.experiment_id);
    const go = () => navigate(["experiments", id, "traces"]);
    return el(
      "tr",
      { class: "clickable", dataset: { experimentId: id }, on: { click: go } },
      el("td", null, el("a", { href: hashFor(["experiments", id, "traces"]), text: e.name, on: { click: (ev) => ev.stopPropagation() } })),
      el("td", { class: "mono muted", text: id }),
      el("td", { class: "num", text: fmtInt(e.trace_count) }),
      el("td", { class: "nowrap muted", text: fmtTime(e.creation_time_ms) }),
      el(
        "td",
        { class: "nowrap" },
        el("a", { href: hashFor(["experiments", id, "traces"]), text: "Traces", on: { click: (ev) => ev.stopPropagation() } }),
        "  \u00b7  ",
        el("a", { href: hashFor(["experiments", id, "overview"]), text: "Overview", on: { click: (ev) => ev.stopPropagation() } }),
      ),
    );
  });
  body.appendChild(
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "grid", id: "experiments-table" },
        el("thead", null, el("tr", null,
          el("th", { text: "Name" }), el("th", { text: "ID" }), el("th", { class: "num", text: "Traces" }),
          el("th", { text: "Created" }), el("th", { text: "" }))),
        el("tbody", null, rows),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Traces tab
// ---------------------------------------------------------------------------------------------

const SORTABLE = {
  timestamp_ms: "DESC",
  name: "ASC",
  execution_time_ms: "DESC",
  total_tokens: "DESC",
  total_cost: "DESC",
};
const seenModels = new Set();
const seenTags = new Set();

async function renderTraces(expId, query, signal) {
  const name = await experimentName(expId, signal);
  setCrumbs([{ text: "Experiments", href: "#/" }, { text: name, href: hashFor(["experiments", expId, "traces"]) }, { text: "Traces" }]);

  const order = query.get("order_by") || "timestamp_ms DESC";
  const [orderCol, orderDir] = order.split(/\s+/);
  const pageSize = Number(query.get("max_results")) || 50;
  const pages = query.getAll("p"); // page tokens from the first page to the current one
  const { range, start, end } = rangeFromQuery(query, "all");

  const update = (changes, keepPages) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === undefined || v === "") q.delete(k);
      else q.set(k, v);
    }
    if (!keepPages) q.delete("p");
    navigate(["experiments", expId, "traces"], q);
  };

  // -- filters ------------------------------------------------------------------------------
  const rangeSel = el(
    "select",
    { class: "input", id: "f-range", on: { change: () => {
      const v = rangeSel.value;
      if (v === "custom") {
        customBox.classList.remove("hidden");
        fromIn.focus();
      } else update({ range: v === "all" ? null : v, from: null, to: null });
    } } },
    el("option", { value: "all", text: "All time" }),
    Object.entries(RANGES).map(([k, r]) => el("option", { value: k, text: r.label })),
    el("option", { value: "custom", text: "Custom\u2026" }),
  );
  rangeSel.value = range;
  const fromIn = el("input", { class: "input", type: "datetime-local", id: "f-from", value: toLocalInput(range === "custom" ? start : null) });
  const toIn = el("input", { class: "input", type: "datetime-local", id: "f-to", value: toLocalInput(range === "custom" ? end : null) });
  const customBox = el(
    "div",
    { class: "field-group" + (range === "custom" ? "" : " hidden"), style: { display: "flex", gap: "10px" } },
    el("label", { class: "field" }, el("span", { text: "From" }), fromIn),
    el("label", { class: "field" }, el("span", { text: "To" }), toIn),
  );
  const statusSel = el(
    "select",
    { class: "input", id: "f-status", on: { change: () => update({ status: statusSel.value }) } },
    el("option", { value: "", text: "Any" }),
    el("option", { value: "OK", text: "OK" }),
    el("option", { value: "ERROR", text: "Error" }),
    el("option", { value: "IN_PROGRESS", text: "In progress" }),
  );
  statusSel.value = query.get("status") || "";
  const modelList = el("datalist", { id: "models-list" });
  const tagList = el("datalist", { id: "tags-list" });
  const modelIn = el("input", { class: "input", id: "f-model", placeholder: "any model or family", title: "A family (gpt-4o-mini) matches its dated snapshots; a dated name only itself", value: query.get("model") || "", attrs: { list: "models-list" } });
  const tagIn = el("input", { class: "input", id: "f-tag", placeholder: "key:value", value: query.get("tag") || "", attrs: { list: "tags-list" } });
  const minCostIn = el("input", { class: "input", id: "f-min-cost", type: "number", min: "0", step: "any", placeholder: "0.01", value: query.get("min_cost") || "" });
  const textIn = el("input", { class: "input", id: "f-text", type: "search", placeholder: "Search requests and responses", value: query.get("text") || "" });
  const apply = () => {
    const changes = {
      model: modelIn.value.trim(),
      tag: tagIn.value.trim(),
      min_cost: minCostIn.value.trim(),
      text: textIn.value.trim(),
    };
    if (rangeSel.value === "custom") {
      Object.assign(changes, { range: "custom", from: fromLocalInput(fromIn.value), to: fromLocalInput(toIn.value) });
    }
    update(changes);
  };
  for (const input of [modelIn, tagIn, minCostIn, textIn, fromIn, toIn]) {
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") apply();
    });
  }
  const hasFilters = ["range", "status", "model", "tag", "min_cost", "text"].some((k) => query.get(k));
  const filters = el(
    "div",
    { class: "filters", id: "trace-filters" },
    el("label", { class: "field" }, el("span", { text: "Time range" }), rangeSel),
    customBox,
    el("label", { class: "field narrow" }, el("span", { text: "Status" }), statusSel),
    el("label", { class: "field" }, el("span", { text: "Model" }), modelIn, modelList),
    el("label", { class: "field" }, el("span", { text: "Tag" }), tagIn, tagList),
    el("label", { class: "field narrow" }, el("span", { text: "Min cost ($)" }), minCostIn),
    el("label", { class: "field wide" }, el("span", { text: "Text" }), textIn),
    el("button", { class: "btn primary", id: "f-apply", type: "button", text: "Apply", on: { click: apply } }),
    el("button", {
      class: "btn", type: "button", text: "Reset", disabled: !hasFilters,
      on: { click: () => navigate(["experiments", expId, "traces"], new URLSearchParams(order !== "timestamp_ms DESC" ? { order_by: order } : {})) },
    }),
  );

  // -- table --------------------------------------------------------------------------------
  const header = (label, col, numeric) => {
    const sortable = col && SORTABLE[col];
    const active = sortable && col === orderCol;
    const th = el(
      "th",
      {
        class: [numeric ? "num" : "", sortable ? "sortable" : ""].join(" ").trim(),
        dataset: col ? { col } : undefined,
        title: sortable ? "Sort by " + label.toLowerCase() : undefined,
        attrs: active ? { "aria-sort": orderDir === "ASC" ? "ascending" : "descending" } : undefined,
      },
      label,
      sortable ? el("span", { class: "arrow", text: active ? (orderDir === "ASC" ? " \u25b2" : " \u25bc") : "" }) : null,
    );
    if (sortable) {
      th.addEventListener("click", () => {
        const dir = active ? (orderDir === "ASC" ? "DESC" : "ASC") : SORTABLE[col];
        update({ order_by: `${col} ${dir}` });
      });
    }
    return th;
  };
  const tbody = el("tbody");
  const table = el(
    "table",
    { class: "grid", id: "traces-table" },
    el("thead", null, el(
      "tr",
      null,
      header("Time", "timestamp_ms"),
      header("Name", "name"),
      header("Status"),
      header("Duration", "execution_time_ms", true),
      header("Input", null, true),
      header("Output", null, true),
      header("Tokens", "total_tokens", true),
      header("Cost", "total_cost", true),
      header("Models"),
      header("Tags"),
    )),
    tbody,
  );
  const prevBtn = el("button", { class: "btn small", id: "page-prev", type: "button", text: "\u2039 Previous", disabled: pages.length === 0 });
  const nextBtn = el("button", { class: "btn small", id: "page-next", type: "button", text: "Next \u203a", disabled: true });
  const sizeSel = el(
    "select",
    { class: "input", id: "page-size", on: { change: () => update({ max_results: sizeSel.value === "50" ? null : sizeSel.value }) } },
    [25, 50, 100, 200].map((n) => el("option", { value: String(n), text: `${n} per page` })),
  );
  sizeSel.value = String(pageSize);
  const pageInfo = el("span", { class: "muted", id: "page-info" });
  prevBtn.addEventListener("click", () => {
    const q = new URLSearchParams(query);
    q.delete("p");
    pages.slice(0, -1).forEach((t) => q.append("p", t));
    navigate(["experiments", expId, "traces"], q);
  });
  const panel = el(
    "div",
    { class: "panel loading" },
    filters,
    el("div", { class: "table-wrap" }, table),
    el("div", { class: "pager" }, pageInfo, el("span", { class: "spacer" }), sizeSel, prevBtn, nextBtn),
  );
  app.append(
    el("div", { class: "page-head" }, el("div", null, el("h1", { class: "page-title", text: name }),
      el("div", { class: "page-sub" }, el("span", { class: "id", text: "Experiment " + expId })))),
    expTabs(expId, "traces"),
    panel,
  );
  tbody.appendChild(el("tr", null, el("td", { attrs: { colspan: 10 } }, el("div", { class: "message", text: "Loading traces\u2026" }))));

  const params = {
    experiment_id: expId,
    start_time_ms: start,
    end_time_ms: end,
    status: query.get("status"),
    model: query.get("model"),
    tag: query.get("tag"),
    min_cost: query.get("min_cost"),
    text: query.get("text"),
    order_by: order,
    max_results: pageSize,
    page_token: pages.length ? pages[pages.length - 1] : null,
  };
  let body;
  try {
    body = await api("/api/traces", params, signal);
  } catch (err) {
    panel.classList.remove("loading");
    clear(tbody);
    if (!isQuiet(err)) {
      tbody.appendChild(el("tr", null, el("td", { attrs: { colspan: 10 } }, el("div", { class: "message error", text: err.message }))));
    }
    return;
  }
  panel.classList.remove("loading");
  clear(tbody);
  const traces = body.traces || [];
  for (const t of traces) {
    (t.models || []).forEach((m) => seenModels.add(m));
    Object.entries(t.tags || {}).forEach(([k, v]) => seenTags.add(`${k}:${v}`));
  }
  append(modelList, [...seenModels].sort().map((m) => el("option", { value: m })));
  append(tagList, [...seenTags].sort().map((t) => el("option", { value: t })));

  if (traces.length === 0) {
    tbody.appendChild(el("tr", null, el("td", { attrs: { colspan: 10 } }, el("div", {
      class: "message",
      text: hasFilters || pages.length ? "No traces match these filters." : "No traces in this experiment yet.",
    }))));
  }
  for (const t of traces) {
    const u = t.token_usage;
    const href = hashFor(["traces", t.trace_id]);
    const row = el(
      "tr",
      {
        class: "clickable trace-row",
        dataset: { traceId: t.trace_id },
        on: { click: (ev) => {
          if (ev.target.closest("a")) return;
          location.hash = href;
        } },
      },
      el("td", { class: "nowrap muted", dataset: { col: "time" }, text: fmtTimeShort(t.timestamp_ms), title: fmtTime(t.timestamp_ms) }),
      el(
        "td",
        { class: "name-cell", dataset: { col: "name" } },
        el("a", { class: "name", href, text: t.name || t.trace_id }),
        t.request_preview ? el("div", { class: "preview", text: t.request_preview, title: t.request_preview }) : null,
      ),
      el("td", { dataset: { col: "status" } }, statusBadge(t.status)),
      el("td", { class: "num", dataset: { col: "duration" }, text: fmtDuration(t.execution_time_ms) }),
      el("td", { class: "num", dataset: { col: "input_tokens" }, text: fmtInt(u ? u.input_tokens : null) }),
      el("td", { class: "num", dataset: { col: "output_tokens" }, text: fmtInt(u ? u.output_tokens : null) }),
      el("td", { class: "num", dataset: { col: "total_tokens" }, text: fmtInt(u ? u.total_tokens : null) }),
      el("td", { class: "num cost", dataset: { col: "total_cost" } }, costCell(t.cost)),
      el("td", { dataset: { col: "models" }, title: (t.models || []).join(", ") }, modelChips(t.models, 2)),
      el("td", { dataset: { col: "tags" } }, tagChips(t.tags, 2)),
    );
    tbody.appendChild(row);
  }
  const first = pages.length * pageSize + (traces.length ? 1 : 0);
  pageInfo.textContent = traces.length
    ? `Page ${pages.length + 1} \u00b7 traces ${fmtInt(first)}\u2013${fmtInt(first + traces.length - 1)}`
    : `Page ${pages.length + 1}`;
  if (body.next_page_token) {
    nextBtn.disabled = false;
    nextBtn.addEventListener("click", () => {
      const q = new URLSearchParams(query);
      q.append("p", body.next_page_token);
      navigate(["experiments", expId, "traces"], q);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Trace view
// ---------------------------------------------------------------------------------------------

const K = {
  model: "llmledger.llm.model",
  requestModel: "llmledger.llm.requestModel",
  provider: "llmledger.llm.provider",
  usage: "llmledger.chat.tokenUsage",
  cost: "llmledger.llm.cost",
  breakdown: "llmledger.llm.costBreakdown",
  inputs: "llmledger.spanInputs",
  outputs: "llmledger.spanOutputs",
  spanType: "llmledger.spanType",
  serviceTier: "llmledger.llm.serviceTier",
  providerCost: "llmledger.llm.providerCost",
  unpriced: "llmledger.llm.unpriced",
  duplicateOf: "llmledger.llm.duplicateOf",
};
const SHOWN_KEYS = new Set([K.model, K.provider, K.usage, K.cost, K.breakdown, K.inputs, K.outputs, K.unpriced]);

const USAGE_ORDER = [
  "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation_1h_input_tokens",
  "audio_input_tokens", "cache_read_audio_input_tokens", "image_input_tokens", "output_tokens", "reasoning_tokens",
  "audio_output_tokens", "image_output_tokens", "total_tokens",
  "input_characters", "input_audio_seconds", "web_search_requests", "grounded_prompts", "output_images",
];
const USAGE_LABEL = {
  input_tokens: "Input",
  output_tokens: "Output",
  total_tokens: "Total",
  cache_read_input_tokens: "Cache read (of input)",
  cache_creation_input_tokens: "Cache write (of input)",
  cache_creation_1h_input_tokens: "Cache write, 1 h (of cache write)",
  reasoning_tokens: "Reasoning (of output)",
  audio_input_tokens: "Audio input",
  audio_output_tokens: "Audio output",
  image_input_tokens: "Image input",
  image_output_tokens: "Image output",
  cache_read_audio_input_tokens: "Cache read, audio (of cache read)",
  input_characters: "Characters",
  input_audio_seconds: "Audio seconds",
  web_search_requests: "Web searches",
  grounded_prompts: "Grounded prompts",
  output_images: "Images",
};
const SUB_USAGE = new Set([
  "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation_1h_input_tokens", "reasoning_tokens", "audio_input_tokens",
  "audio_output_tokens", "image_input_tokens", "image_output_tokens", "cache_read_audio_input_tokens",
]);

function usageTable(usage) {
  const keys = Object.keys(usage).filter((k) => isNum(usage[k]));
  keys.sort((a, b) => {
    const ia = USAGE_ORDER.indexOf(a);
    const ib = USAGE_ORDER.indexOf(b);
    return (ia < 0 ? 50 : ia) - (ib < 0 ? 50 : ib) || a.localeCompare(b);
  });
  return el(
    "table",
    { class: "mini", dataset: { testid: "span-usage" } },
    el("tbody", null, keys.map((k) => el(
      "tr",
      { class: k === "total_tokens" ? "total" : "", dataset: { key: k } },
      el("td", { class: SUB_USAGE.has(k) ? "sub" : "", text: USAGE_LABEL[k] || humanKey(k) }),
      el("td", { class: "num", text: fmtInt(usage[k]) }),
    ))),
  );
}

function costTable(cost, breakdown, testid) {
  const details = (breakdown && breakdown.details) || {};
  const rows = [
    el("tr", { dataset: { key: "input_cost" } }, el("td", { text: "Input" }), el("td", { class: "num", text: fmtCost(cost.input_cost) })),
  ];
  const nonzero = (key) => isNum(details[key]) && details[key] !== 0;
  // The parts of one side (input or output); listed unless the plain part is all there is.
  const parts = (plain, list) => {
    const present = list.filter(([key]) => nonzero(key));
    if (present.length === 1 && present[0][0] === plain) return;
    for (const [key, label] of present) {
      rows.push(el("tr", { dataset: { key } }, el("td", { class: "sub", text: label }), el("td", { class: "num", text: fmtCost(details[key]) })));
    }
  };
  parts("uncached_input_cost", [
    ["uncached_input_cost", "Uncached input"], ["cache_read_cost", "Cache read"], ["cache_write_cost", "Cache write"],
    // part of the cache write above; the note says when the entry had no 1-hour price
    ["cache_write_1h_cost", "Cache write, 1 h (of cache write)" +
      (typeof details.cache_write_1h_priced_as === "string" ? `, priced as ${details.cache_write_1h_priced_as}` : "")],
    ["audio_input_cost", "Audio input"], ["cache_read_audio_cost", "Cache read, audio"], ["image_input_cost", "Image input"],
    ["characters_cost", "Characters"], ["audio_seconds_cost", "Audio seconds"], ["web_search_cost", "Web searches"],
    ["grounding_cost", "Grounded prompts"],
  ]);
  rows.push(el("tr", { dataset: { key: "output_cost" } }, el("td", { text: "Output" }), el("td", { class: "num", text: fmtCost(cost.output_cost) })));
  parts("text_output_cost", [
    ["text_output_cost", "Text output"], ["reasoning_cost", "Reasoning"], ["audio_output_cost", "Audio output"],
    ["image_output_cost", "Image output"], ["images_cost", "Images"],
  ]);
  const known = new Set([
    "uncached_input_cost", "cache_read_cost", "cache_write_cost", "cache_write_1h_cost", "audio_input_cost",
    "image_input_cost", "text_output_cost", "reasoning_cost", "audio_output_cost", "image_output_cost",
    "cache_read_audio_cost", "characters_cost", "audio_seconds_cost", "web_search_cost", "grounding_cost", "images_cost",
  ]);
  const others = Object.keys(details).filter((k) => !known.has(k) && k.endsWith("_cost") && nonzero(k));
  if (others.length) {
    rows.push(el("tr", null, el("td", { text: "Other" }), el("td")));
    for (const k of others) {
      rows.push(el("tr", { dataset: { key: k } }, el("td", { class: "sub", text: humanKey(k.replace(/_cost$/, "")) }), el("td", { class: "num", text: fmtCost(details[k]) })));
    }
  }
  rows.push(el("tr", { class: "total", dataset: { key: "total_cost" } }, el("td", { text: "Total" }), el("td", { class: "num", text: fmtCost(cost.total_cost) })));
  return el("table", { class: "mini", dataset: { testid } }, el("tbody", null, rows));
}

function priceEntry(price) {
  const rows = [];
  const add = (label, value, key) => {
    if (value === undefined || value === null || value === "") return;
    rows.push(el("dt", { text: label }), el("dd", { dataset: { key }, text: String(value) }));
  };
  add("Model", price.model_id, "model_id");
  add("Provider", price.provider, "provider");
  add("Mode", price.mode, "mode");
  add("Matched by", price.matched_by + (price.query && price.query !== price.model_id ? ` (asked: ${price.query})` : ""), "matched_by");
  add("Source", price.source, "source");
  add("Effective from", price.effective_from, "effective_from");
  const tier = price.service_tier || price.tier;
  add("Tier", tier, "tier");
  const rates = Object.entries(price.rates || {});
  const rateRows = rates.map(([k, v]) => {
    const perToken = /token/.test(k);
    const label = humanKey(k.replace(/_cost_per_token$|_token_cost$|_cost$/, "").replace(/_per_token$/, ""));
    return el(
      "tr",
      { dataset: { key: k } },
      el("td", { text: label, title: k }),
      el("td", { class: "num", text: perToken ? `${fmtRatePerMillion(v)} / 1M tokens` : `$${v}`, title: `${k} = ${v}` }),
    );
  });
  return el(
    "div",
    { dataset: { testid: "price-entry" } },
    el("dl", { class: "kv" }, rows),
    rateRows.length ? el("table", { class: "mini", style: { marginTop: "8px" }, dataset: { testid: "price-rates" } }, el("tbody", null, rateRows)) : null,
  );
}

function buildTree(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, { span: s, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const pid = node.span.parent_id;
    if (pid && byId.has(pid) && pid !== node.span.span_id) byId.get(pid).children.push(node);
    else roots.push(node);
  }
  const cmp = (a, b) => (a.span.start_time_ns - b.span.start_time_ns) || String(a.span.name).localeCompare(String(b.span.name));
  const sortRec = (nodes) => {
    nodes.sort(cmp);
    nodes.forEach((n) => sortRec(n.children));
  };
  sortRec(roots);
  return roots;
}

function carries(span) {
  const a = span.attributes || {};
  return (a[K.usage] !== undefined && a[K.usage] !== null) || (a[K.cost] !== undefined && a[K.cost] !== null);
}

function exceptionsOf(span) {
  return (span.events || []).filter((e) => e && e.name === "exception");
}

function errorText(span) {
  const ex = exceptionsOf(span)[0];
  if (ex) {
    const a = ex.attributes || {};
    return [a["exception.type"], a["exception.message"]].filter(Boolean).join(": ");
  }
  return span.status_message || "";
}

async function renderTrace(traceId, query, signal) {
  setCrumbs([{ text: "Experiments", href: "#/" }, { text: "Trace" }, { text: traceId }]);
  const holder = el("div", { class: "loading" }, el("div", { class: "message", text: "Loading trace\u2026" }));
  app.appendChild(holder);
  let data;
  try {
    data = await api(`/api/traces/${encodeURIComponent(traceId)}`, null, signal);
  } catch (err) {
    if (isQuiet(err)) return;
    setCrumbs([{ text: "Experiments", href: "#/" }, { text: "Trace not found" }]);
    clear(holder).classList.remove("loading");
    holder.appendChild(el("div", { class: "panel" }, el("div", { class: "message error", id: "trace-error", text: err.message })));
    return;
  }
  holder.remove();
  const info = data.info;
  const spans = data.spans || [];
  const expId = String(info.experiment_id);
  const expName = await experimentName(expId, signal);
  setCrumbs([
    { text: "Experiments", href: "#/" },
    { text: expName, href: hashFor(["experiments", expId, "traces"]) },
    { text: info.name || traceId },
  ]);

  // -- header -------------------------------------------------------------------------------
  const u = info.token_usage || null;
  const c = info.cost || null;
  const details = (c && c.details) || {};
  const head = el(
    "div",
    { class: "page-head" },
    el(
      "div",
      null,
      el("h1", { class: "page-title", id: "trace-name" }, info.name || traceId, " ", statusBadge(info.status)),
      el(
        "div",
        { class: "page-sub meta-list" },
        el("span", { class: "id", id: "trace-id", text: info.trace_id }),
        el("span", null, "Started ", el("b", { text: fmtTime(info.timestamp_ms) })),
        el("span", null, "Duration ", el("b", { text: fmtDuration(info.execution_time_ms) })),
        el("span", null, "Spans ", el("b", { text: fmtInt(spans.length) })),
        el("span", null, "Experiment ", el("a", { href: hashFor(["experiments", expId, "traces"]), text: expName })),
      ),
    ),
  );
  const cacheBits = [];
  if (u && isNum(u.cache_read_input_tokens) && u.cache_read_input_tokens > 0) {
    cacheBits.push(el("span", { dataset: { testid: "trace-cache-read" } }, "cache read ", el("b", { text: fmtInt(u.cache_read_input_tokens) })));
  }
  if (u && isNum(u.cache_creation_input_tokens) && u.cache_creation_input_tokens > 0) {
    cacheBits.push(el("span", { dataset: { testid: "trace-cache-write" } }, "cache write ", el("b", { text: fmtInt(u.cache_creation_input_tokens) })));
  }
  const outBits = [];
  if (u && isNum(u.reasoning_tokens) && u.reasoning_tokens > 0) {
    outBits.push(el("span", { dataset: { testid: "trace-reasoning" } }, "reasoning ", el("b", { text: fmtInt(u.reasoning_tokens) })));
  }
  const join = (bits) => bits.flatMap((b, i) => (i ? [" \u00b7 ", b] : [b]));
  const costSub = c
    ? [
      el("div", null, "input ", el("b", { text: fmtCost(c.input_cost), dataset: { testid: "trace-input-cost" } })),
      el("div", null, "output ", el("b", { text: fmtCost(c.output_cost), dataset: { testid: "trace-output-cost" } })),
    ]
    : el("span", { text: u ? "no price known for these models" : "no LLM usage recorded" });
  const kpis = el(
    "div",
    { class: "kpis", id: "trace-kpis" },
    kpi("Total cost", fmtCost(c ? c.total_cost : null), costSub, "trace-total-cost"),
    kpi("Input tokens", fmtInt(u ? u.input_tokens : null), cacheBits.length ? join(cacheBits) : null, "trace-input-tokens"),
    kpi("Output tokens", fmtInt(u ? u.output_tokens : null), outBits.length ? join(outBits) : null, "trace-output-tokens"),
    kpi("Total tokens", fmtInt(u ? u.total_tokens : null), null, "trace-total-tokens"),
    kpi("Models", String((info.models || []).length || DASH), modelChips(info.models), "trace-models"),
  );
  const notes = [];
  if (isNum(details.unpriced_spans) && details.unpriced_spans > 0) {
    notes.push(el("div", { class: "banner", text: `${details.unpriced_spans} LLM call(s) in this trace have no known price: the total cost is partial.` }));
  }
  if (isNum(info.spans_dropped) && info.spans_dropped > 0) {
    notes.push(el("div", { class: "banner", id: "trace-dropped-banner", text: `${fmtInt(info.spans_dropped)} span(s) of this trace were not recorded (over the limit of spans per trace, LLMLEDGER_MAX_SPANS_PER_TRACE): its usage and cost are partial.` }));
  }
  if (Object.keys(info.tags || {}).length) {
    head.firstChild.appendChild(el("div", { class: "page-sub", style: { marginTop: "8px" } }, tagChips(info.tags)));
  }
  if (String(info.status).toUpperCase() === "ERROR") {
    const root = spans.find((s) => !s.parent_id);
    const failing = spans.filter((s) => String(s.status).toUpperCase() === "ERROR");
    const msg = (root && errorText(root)) || (failing[0] && errorText(failing[0])) || "The trace ended with an error.";
    notes.push(el("div", { class: "banner error", id: "trace-error-banner", text: msg }));
  }
  app.append(head, ...notes, kpis);

  // -- waterfall + details ------------------------------------------------------------------
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const roots = buildTree(spans);
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of spans) {
    t0 = Math.min(t0, s.start_time_ns);
    t1 = Math.max(t1, s.end_time_ns || s.start_time_ns);
  }
  const total = Math.max(t1 - t0, 1);
  const collapsed = new Set();
  const initial = query.get("span");
  let selected = initial && byId.has(initial) ? initial : roots.length ? roots[0].span.span_id : null;

  const wfBody = el("div", { id: "waterfall-rows" });
  const axis = el("div", { class: "wf-axis" });
  for (let i = 0; i <= 4; i++) {
    axis.appendChild(el("span", { style: { left: `${i * 25}%` }, text: fmtDuration((total / 1e6) * (i / 4)) }));
  }
  const waterfall = el(
    "div",
    { class: "panel" },
    el("div", { class: "panel-head" }, "Spans", el("span", { class: "spacer" }),
      el("span", { class: "muted", style: { fontWeight: "400" }, text: "Click a span for its details" })),
    el(
      "div",
      { class: "waterfall", id: "waterfall" },
      el("div", { class: "wf-head" }, el("div", { text: "Span" }), axis, el("div", { class: "num", text: "Time / cost" })),
      wfBody,
    ),
  );
  const detailPanel = el("div", { class: "panel details", id: "span-details" });
  app.appendChild(el("div", { class: "trace-layout" }, waterfall, detailPanel));

  const drawRows = () => {
    clear(wfBody);
    const walk = (node, depth) => {
      const s = node.span;
      const start = s.start_time_ns - t0;
      const dur = (s.end_time_ns || s.start_time_ns) - s.start_time_ns;
      const isErr = String(s.status).toUpperCase() === "ERROR";
      const a = s.attributes || {};
      const cost = a[K.cost];
      const notCounted = !s.counted && carries(s);
      const hasKids = node.children.length > 0;
      const isCollapsed = collapsed.has(s.span_id);
      const toggle = el("button", {
        class: "wf-toggle" + (hasKids ? "" : " leaf"),
        type: "button",
        text: hasKids ? (isCollapsed ? "\u25b6" : "\u25bc") : "",
        title: hasKids ? (isCollapsed ? "Expand" : "Collapse") : undefined,
        attrs: { "aria-label": hasKids ? (isCollapsed ? "Expand" : "Collapse") : undefined },
        on: { click: (ev) => {
          ev.stopPropagation();
          if (collapsed.has(s.span_id)) collapsed.delete(s.span_id);
          else collapsed.add(s.span_id);
          drawRows();
        } },
      });
      const type = String(s.span_type || "UNKNOWN");
      const bar = el("div", {
        class: `wf-bar t-${type}` + (isErr ? " error" : ""),
        style: { left: `${(start / total) * 100}%`, width: `${Math.max((dur / total) * 100, 0.25)}%` },
        title: `${s.name}: ${fmtDuration(dur / 1e6)} (starts at +${fmtDuration(start / 1e6)})`,
      });
      const grid = [25, 50, 75].map((p) => el("div", { class: "grid-line", style: { left: `${p}%` } }));
      const row = el(
        "div",
        {
          class: "wf-row" + (s.span_id === selected ? " selected" : ""),
          dataset: { spanId: s.span_id, depth: String(depth) },
          attrs: { role: "button", tabindex: "0" },
          on: {
            click: () => select(s.span_id),
            keydown: (ev) => {
              if (ev.key === "Enter" || ev.key === " ") {
                ev.preventDefault();
                select(s.span_id);
              }
            },
          },
        },
        el(
          "div",
          { class: "wf-name", style: { paddingLeft: `${10 + depth * 18}px` } },
          toggle,
          el("span", { class: `type-chip t-${type}`, text: type.replace("_", " "), title: type }),
          el("span", { class: "label", text: s.name, title: s.name }),
          isErr ? el("span", { class: "err-icon", text: "!", title: errorText(s) || "error" }) : null,
          notCounted ? el("span", { class: "nc-chip", text: "not counted", title: "Not part of the trace total: a span below it carries the same usage" }) : null,
        ),
        el("div", { class: "wf-track" }, grid, bar),
        el(
          "div",
          { class: "wf-dur" },
          fmtDuration(dur / 1e6),
          cost && isNum(cost.total_cost)
            ? el("span", { class: "c" + (notCounted ? " nc" : ""), text: fmtCost(cost.total_cost) })
            : null,
        ),
      );
      wfBody.appendChild(row);
      if (!isCollapsed) node.children.forEach((child) => walk(child, depth + 1));
    };
    roots.forEach((r) => walk(r, 0));
  };

  const select = (spanId) => {
    selected = spanId;
    for (const row of wfBody.querySelectorAll(".wf-row")) {
      row.classList.toggle("selected", row.dataset.spanId === spanId);
    }
    const q = new URLSearchParams(query);
    q.set("span", spanId);
    history.replaceState(null, "", hashFor(["traces", traceId], q));
    drawDetails(byId.get(spanId));
  };

  const drawDetails = (s) => {
    clear(detailPanel);
    if (!s) {
      detailPanel.appendChild(el("div", { class: "message", text: "This trace has no spans." }));
      return;
    }
    const a = s.attributes || {};
    const type = String(s.span_type || "UNKNOWN");
    const dur = (s.end_time_ns || s.start_time_ns) - s.start_time_ns;
    const usage = a[K.usage];
    const cost = a[K.cost];
    const breakdown = a[K.breakdown];
    const body = el("div", { class: "panel-body" });
    detailPanel.append(
      el(
        "div",
        { class: "panel-head" },
        el("span", { class: `type-chip t-${type}`, text: type.replace("_", " ") }),
        el("span", { id: "span-name", text: s.name, style: { overflow: "hidden", textOverflow: "ellipsis" } }),
        el("span", { class: "spacer" }),
        statusBadge(s.status),
      ),
      body,
    );
    const kv = [];
    const add = (label, value, key, opts = {}) => {
      if (value === undefined || value === null || value === "") return;
      kv.push(
        el("dt", { class: opts.wide ? "wide" : "", text: label }),
        el("dd", { class: (opts.mono ? "mono " : "") + (opts.wide ? "wide" : ""), dataset: { key }, text: String(value), title: opts.title }),
      );
    };
    add("Model", a[K.model], "model", { mono: true });
    add("Provider", a[K.provider], "provider");
    add("Duration", fmtDuration(dur / 1e6), "duration");
    add("Starts at", "+" + fmtDuration((s.start_time_ns - t0) / 1e6), "start", { title: fmtTime(Math.floor(s.start_time_ns / 1e6)) });
    if (a[K.requestModel] && a[K.requestModel] !== a[K.model]) add("Requested model", a[K.requestModel], "request_model", { mono: true, wide: true });
    add("Span ID", s.span_id, "span_id", { mono: true, wide: true });
    if (s.parent_id) add("Parent", byId.has(s.parent_id) ? `${byId.get(s.parent_id).name} (${s.parent_id})` : s.parent_id, "parent", { mono: true, wide: true });
    body.appendChild(el("dl", { class: "kv kv4", id: "span-kv" }, kv));

    // errors
    const exs = exceptionsOf(s);
    if (String(s.status).toUpperCase() === "ERROR" || exs.length) {
      body.appendChild(el("h3", { text: "Error" }));
      const told = (e) => {
        const m = (e.attributes || {})["exception.message"];
        return m !== undefined && m !== null && String(s.status_message).includes(String(m));
      };
      if (s.status_message && !exs.some(told)) {
        body.appendChild(el("div", { class: "note err", dataset: { testid: "span-error" }, text: s.status_message }));
      }
      for (const ex of exs) {
        const ea = ex.attributes || {};
        body.appendChild(el("div", { class: "note err", dataset: { testid: "span-exception" } },
          el("b", { text: ea["exception.type"] || "Exception" }), ": ", ea["exception.message"] || ""));
        if (ea["exception.stacktrace"]) {
          body.appendChild(el("details", { style: { marginTop: "6px" } }, el("summary", { class: "muted", text: "Stack trace" }),
            el("pre", { class: "json stack", text: ea["exception.stacktrace"] })));
        }
      }
    }

    // usage and cost
    if (carries(s)) {
      body.appendChild(el(
        "h3",
        null,
        "Token usage",
        s.counted
          ? el("span", { class: "badge ok", dataset: { testid: "counted-note" }, text: "counted in trace total", title: "This span's usage and cost are part of the trace total" })
          : el("span", { class: "badge warn", text: "not counted" }),
      ));
      if (!s.counted) {
        body.appendChild(el("div", { class: "note warn", dataset: { testid: "not-counted-note" }, style: { marginBottom: "6px" },
          text: a[K.duplicateOf]
            ? `Not counted: the same provider call (response id) was already counted in trace ${a[K.duplicateOf]}.`
            : "Not counted in the trace total: another span of this trace carries the usage and cost of the same call(s), so counting this one too would count them twice." }));
      }
      if (usage && typeof usage === "object") body.appendChild(usageTable(usage));
      else body.appendChild(el("div", { class: "muted", text: "No token usage recorded on this span." }));
      body.appendChild(el("h3", { text: "Cost" }));
      if (cost && typeof cost === "object") {
        body.appendChild(costTable(cost, breakdown, "span-cost"));
        const d = (breakdown && breakdown.details) || {};
        const tier = d.service_tier || d.tier;
        if (tier && tier !== "standard") body.appendChild(el("div", { class: "note", text: `Service tier: ${tier}` }));
        const reported = a[K.providerCost];
        if (typeof reported === "number" && typeof cost.total_cost === "number") {
          const diff = cost.total_cost - reported;
          const same = Math.abs(diff) <= 1e-12 * Math.max(Math.abs(reported), 1);
          body.appendChild(el("div", { class: "note" + (same ? "" : " warn"), dataset: { testid: "provider-cost" },
            text: `Provider reported ${fmtCost(reported)}; computed ${fmtCost(cost.total_cost)}; ` +
              (same ? "the same." : `difference ${diff > 0 ? "+" : "-"}${fmtCost(Math.abs(diff))} (computed - reported).`) }));
        }
      } else {
        const why = a[K.unpriced] ? `Unpriced: ${a[K.unpriced]}` : `No price known for ${a[K.model] ? "model " + a[K.model] : "this call (no model name)"}`;
        body.appendChild(el("div", { class: "note warn", dataset: { testid: "no-price" },
          text: `${why}. Cost unknown, not counted as $0.` }));
      }
      if (cost && typeof cost === "object") {
        body.appendChild(el("h3", { text: "Price entry" }));
        if (breakdown && breakdown.price) body.appendChild(priceEntry(breakdown.price));
        else body.appendChild(el("div", { class: "note", dataset: { testid: "set-by-hand" },
          text: "Set by hand: this cost was given on the span, not computed from a price entry." }));
      }
    }

    // inputs, outputs, attributes
    const io = (title, value, id) => {
      if (value === undefined || value === null) return;
      body.appendChild(el("h3", { text: title }));
      body.appendChild(el("pre", { class: "json", id, text: prettyJson(value) }));
    };
    io("Inputs", a[K.inputs], "span-inputs");
    io("Outputs", a[K.outputs], "span-outputs");
    const rest = {};
    for (const [k, v] of Object.entries(a)) if (!SHOWN_KEYS.has(k)) rest[k] = v;
    if (Object.keys(rest).length) io("Attributes", rest, "span-attributes");
    const other = (s.events || []).filter((e) => !e || e.name !== "exception");
    if (other.length) io("Events", other, "span-events");
  };

  drawRows();
  drawDetails(selected ? byId.get(selected) : null);
}

// ---------------------------------------------------------------------------------------------
// Overview tab
// ---------------------------------------------------------------------------------------------

const PALETTE = [
  "#3b6fd8", "#e0833a", "#2fa39a", "#8a63d2", "#d2507a", "#6a9f35", "#c9a227", "#4aa3df",
  "#9c6b4e", "#6b7a90", "#d65f5f", "#35a46b",
];

/**
 * A model's (or tag value's) chart colour, from a hash of its name (FNV-1a): the same in
 * every time range, whatever else is in the chart.
 */
function colorFor(name) {
  let h = 0x811c9dc5;
  for (const ch of String(name)) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return PALETTE[(h >>> 0) % PALETTE.length];
}

function pickBucket(startMs, endMs) {
  const span = endMs - startMs;
  if (span <= 2 * DAY) return "hour";
  if (span <= 120 * DAY) return "day";
  return "week";
}

/** Buckets start at the viewer's local midnight (tz_offset_minutes), so local labels. */
function bucketLabel(ms, bucketMs) {
  if (bucketMs < DAY) return HOUR_FMT.format(new Date(ms));
  const label = DAY_FMT.format(new Date(ms));
  return bucketMs > DAY ? "wk of " + label : label;
}

async function renderOverview(expId, query, signal) {
  const name = await experimentName(expId, signal);
  setCrumbs([{ text: "Experiments", href: "#/" }, { text: name, href: hashFor(["experiments", expId, "traces"]) }, { text: "Overview" }]);
  const rq = rangeFromQuery(query, "7d");
  const range = RANGES[rq.range] || rq.range === "custom" ? rq.range : "7d";
  const now = Date.now();
  const rawEnd = rq.end !== null && rq.end !== undefined ? rq.end : now;
  const rawStart = rq.start !== null && rq.start !== undefined ? rq.start : rawEnd - 7 * DAY;
  // The server sums hourly rollups: the range is taken in whole hours, and shown as such.
  const start = Math.floor(rawStart / HOUR) * HOUR;
  const end = Math.max(Math.ceil(rawEnd / HOUR) * HOUR, start + HOUR);
  const tzOffsetMinutes = -new Date(rawEnd).getTimezoneOffset();
  // by model family (gpt-4o-mini holds gpt-4o-mini-2024-07-18) unless asked otherwise
  const group = ["model", "provider"].includes(query.get("group")) ? query.get("group") : "family";

  const update = (changes) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === undefined || v === "") q.delete(k);
      else q.set(k, String(v));
    }
    navigate(["experiments", expId, "overview"], q);
  };

  // -- toolbar ------------------------------------------------------------------------------
  const rangeSeg = el("div", { class: "seg", id: "range-picker", attrs: { role: "group", "aria-label": "Time range" } });
  for (const key of ["24h", "7d", "30d"]) {
    rangeSeg.appendChild(el("button", {
      type: "button", class: range === key ? "active" : "", text: key, dataset: { range: key },
      on: { click: () => update({ range: key, from: null, to: null }) },
    }));
  }
  const fromIn = el("input", { class: "input", type: "datetime-local", id: "o-from", value: toLocalInput(rawStart) });
  const toIn = el("input", { class: "input", type: "datetime-local", id: "o-to", value: toLocalInput(rawEnd) });
  const applyCustom = () => {
    const f = fromLocalInput(fromIn.value);
    const t = fromLocalInput(toIn.value);
    if (f === null || t === null || t <= f) {
      fromIn.setCustomValidity(t !== null && f !== null && t <= f ? "From must be before To" : "");
      fromIn.reportValidity();
      return;
    }
    update({ range: "custom", from: f, to: t });
  };
  const customBox = el(
    "div",
    { class: "toolbar-custom" + (range === "custom" ? "" : " hidden"), style: { display: "flex", gap: "8px", alignItems: "center" } },
    fromIn, el("span", { class: "muted", text: "to" }), toIn,
    el("button", { class: "btn primary", type: "button", id: "o-apply", text: "Apply", on: { click: applyCustom } }),
  );
  rangeSeg.appendChild(el("button", {
    type: "button", class: range === "custom" ? "active" : "", text: "Custom", dataset: { range: "custom" },
    on: { click: () => {
      customBox.classList.remove("hidden");
      for (const b of rangeSeg.children) b.classList.toggle("active", b.dataset.range === "custom");
    } },
  }));
  const groupSeg = el("div", { class: "seg", id: "group-picker" });
  for (const g of ["family", "model", "provider"]) {
    groupSeg.appendChild(el("button", {
      type: "button", class: group === g ? "active" : "", text: "By " + g, dataset: { group: g },
      title: g === "family" ? "Dated snapshots and provider ids of a model together (gpt-4o-mini-2024-07-18 in gpt-4o-mini)" : null,
      on: { click: () => update({ group: g === "family" ? null : g }) },
    }));
  }
  const rangeText = el("span", {
    class: "muted", id: "range-text", text: `${fmtTime(start)} \u2013 ${fmtTime(end)}`,
    title: "Metrics are kept per hour: the range is widened to whole hours",
  });
  app.append(
    el("div", { class: "page-head" }, el("div", null, el("h1", { class: "page-title", text: name }),
      el("div", { class: "page-sub" }, el("span", { class: "id", text: "Experiment " + expId })))),
    expTabs(expId, "overview"),
    el("div", { class: "toolbar" }, rangeSeg, customBox, rangeText, el("span", { class: "spacer" }), groupSeg),
  );
  const holder = el("div", { class: "loading" }, el("div", { class: "message", text: "Loading metrics\u2026" }));
  app.appendChild(holder);

  const bucket = pickBucket(start, end);
  const base = { experiment_id: expId, start_time_ms: start, end_time_ms: end };
  const [metrics, tracesBody] = await Promise.all([
    api("/api/metrics", { ...base, bucket, group_by: group, tz_offset_minutes: tzOffsetMinutes }, signal),
    api("/api/traces", { ...base, max_results: 200, order_by: "timestamp_ms DESC" }, signal).catch(() => ({ traces: [] })),
  ]);
  holder.remove();

  // tag keys seen on the traces in range, most common first
  const keyCount = new Map();
  for (const t of tracesBody.traces || []) {
    for (const k of Object.keys(t.tags || {})) keyCount.set(k, (keyCount.get(k) || 0) + 1);
  }
  const tagKeys = [...keyCount.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([k]) => k);
  const tagKey = query.get("tagkey") && tagKeys.includes(query.get("tagkey")) ? query.get("tagkey") : tagKeys[0] || query.get("tagkey");

  // -- KPIs ---------------------------------------------------------------------------------
  const tot = metrics.totals || {};
  const lat = tot.latency_ms || {};
  const traces = tot.traces;
  const errors = tot.error_traces;
  const series = metrics.series || [];
  const unpriced = series.reduce((n, r) => n + (r.unpriced_calls || 0), 0);
  app.appendChild(el(
    "div",
    { class: "kpis", id: "overview-kpis" },
    kpi("Total cost", fmtCost(tot.total_cost), unpriced ? el("span", { class: "badge warn", text: `${fmtInt(unpriced)} unpriced call(s)` }) : el("span", { text: `${fmtInt(tot.calls)} LLM calls` }), "total-cost"),
    kpi("Traces", fmtInt(traces), isNum(errors) ? el("span", null, el("b", { text: fmtInt(errors) }), ` ${errors === 1 ? "error" : "errors"} (${fmtPercent(traces ? errors / traces : null)})`) : null, "trace-count"),
    kpi("Total tokens", fmtInt(tot.total_tokens), el("span", null, "in ", el("b", { text: fmtInt(tot.input_tokens) }), " \u00b7 out ", el("b", { text: fmtInt(tot.output_tokens) })), "total-tokens"),
    kpi("Avg cost / trace", fmtCost(tot.avg_cost_per_trace), null, "avg-cost"),
    kpi("Latency p50", fmtDuration(lat.p50), el("span", null, "p90 ", el("b", { text: fmtDuration(lat.p90) }), " \u00b7 p99 ", el("b", { text: fmtDuration(lat.p99) })), "latency"),
    forecastKpi(alertsUi(), expId, signal),
  ));

  // -- charts -------------------------------------------------------------------------------
  const bucketMs = metrics.bucket_ms || { hour: HOUR, day: DAY, week: 7 * DAY }[bucket];
  const byGroup = new Map();
  for (const r of series) {
    const g = r.group === null || r.group === undefined ? "(none)" : String(r.group);
    const cur = byGroup.get(g) || { cost: 0, tokens: 0, input: 0, output: 0, calls: 0, unpriced: 0, traces: 0 };
    cur.cost += r.total_cost || 0;
    cur.tokens += r.total_tokens || 0;
    cur.input += r.input_tokens || 0;
    cur.output += r.output_tokens || 0;
    cur.calls += r.calls || 0;
    cur.unpriced += r.unpriced_calls || 0;
    for (const v of r.variants || []) {  // by family: the reported model names inside it
      cur.variants = cur.variants || new Map();
      const vc = cur.variants.get(v.model) || { name: v.model, cost: 0, tokens: 0, calls: 0, unpriced: 0 };
      vc.cost += v.total_cost || 0;
      vc.tokens += v.total_tokens || 0;
      vc.calls += v.calls || 0;
      vc.unpriced += v.unpriced_calls || 0;
      cur.variants.set(v.model, vc);
    }
    byGroup.set(g, cur);
  }
  const groups = [...byGroup.keys()].sort((x, y) => byGroup.get(y).cost - byGroup.get(x).cost || byGroup.get(y).tokens - byGroup.get(x).tokens);
  const color = new Map(groups.map((g) => [g, colorFor(g)]));

  const off = tzOffsetMinutes * 60000;
  const firstBucket = Math.floor((start + off) / bucketMs) * bucketMs - off;
  const buckets = [];
  for (let b = firstBucket; b < end && buckets.length < 2000; b += bucketMs) buckets.push(b);
  for (const r of series) if (!buckets.includes(r.bucket_ms)) buckets.push(r.bucket_ms);
  buckets.sort((x, y) => x - y);
  const idx = new Map(buckets.map((b, i) => [b, i]));
  const costData = new Map(groups.map((g) => [g, buckets.map(() => 0)]));
  const tokData = new Map(groups.map((g) => [g, buckets.map(() => 0)]));
  for (const r of series) {
    const g = r.group === null || r.group === undefined ? "(none)" : String(r.group);
    const i = idx.get(r.bucket_ms);
    costData.get(g)[i] += r.total_cost || 0;
    tokData.get(g)[i] += r.total_tokens || 0;
  }
  const labels = buckets.map((b) => bucketLabel(b, bucketMs));
  const axisTitle = bucketMs < DAY ? "hour (local time)" : bucketMs === DAY ? "day (local time)" : "week (local time)";

  const chartCard = (title, id, sub) => {
    const canvas = el("canvas", { id, attrs: { role: "img", "aria-label": title } });
    const card = el(
      "div",
      { class: "panel" },
      el("div", { class: "panel-head" }, title, el("span", { class: "spacer" }), sub ? el("span", { class: "muted", style: { fontWeight: "400" }, text: sub }) : null),
      el("div", { class: "chart-box" }, canvas),
    );
    return { card, canvas };
  };
  const costCard = chartCard(`Cost over time, by ${group}`, "chart-cost", `per ${bucket}`);
  const tokCard = chartCard(`Tokens over time, by ${group}`, "chart-tokens", `per ${bucket}`);
  app.appendChild(el("div", { class: "charts" }, costCard.card, tokCard.card));

  const breakdownTable = (rows, total, testid, keyLabel) => el(
    "table",
    { class: "grid breakdown", dataset: { testid } },
    el("thead", null, el("tr", null,
      el("th", { text: keyLabel }), el("th", { class: "num", text: "Calls" }), el("th", { class: "num", text: "Tokens" }),
      el("th", { class: "num", text: "Cost" }), el("th", { class: "num", text: "Share" }), el("th", { style: { width: "22%" } }))),
    el("tbody", null, rows.length ? rows.flatMap((r) => [el(
      "tr",
      { dataset: { group: r.name } },
      el(
        "td",
        null,
        el("span", { class: "swatch", style: { background: r.color || "#9aa6b8" } }),
        r.href ? el("a", { class: "mono", href: r.href, text: r.name, title: "Traces of " + r.name }) : el("span", { class: "mono", text: r.name }),
        r.unpriced ? el("span", { class: "badge warn", style: { marginLeft: "8px" }, text: `${fmtInt(r.unpriced)} unpriced`, title: `${r.unpriced} call(s) without a known price: cost partial` }) : null,
      ),
      el("td", { class: "num", text: fmtInt(r.calls) }),
      el("td", { class: "num", text: fmtInt(r.tokens) }),
      el("td", { class: "num", text: fmtCost(r.cost) }),
      el("td", { class: "num muted", text: total > 0 ? fmtPercent(r.cost / total) : DASH }),
      el("td", null, el("div", { class: "bar", style: { width: `${total > 0 ? (r.cost / total) * 100 : 0}%`, background: r.color || "#9aa6b8" } })),
    ), ...variantRows(r, total)]) : el("tr", null, el("td", { attrs: { colspan: 6 }, class: "muted", text: "No LLM calls in this range." }))),
  );
  // A family's models, as reported, under it; each name opens its traces (an exact name).
  const tracesOf = (model) => hashFor(["experiments", expId, "traces"], new URLSearchParams({ model }));
  const variantRows = (r, total) => {
    const vs = r.variants ? [...r.variants.values()].sort((x, y) => y.cost - x.cost || x.name.localeCompare(y.name)) : [];
    if (vs.length === 0 || (vs.length === 1 && vs[0].name === r.name)) return [];
    return vs.map((v) => el(
      "tr",
      { class: "variant", dataset: { variant: v.name, family: r.name } },
      el("td", { style: { paddingLeft: "28px" } }, el("a", { class: "mono muted", href: tracesOf(v.name), text: v.name, title: `Traces of ${v.name} (as the provider reported it)` })),
      el("td", { class: "num muted", text: fmtInt(v.calls) }),
      el("td", { class: "num muted", text: fmtInt(v.tokens) }),
      el("td", { class: "num muted", text: fmtCost(v.cost) }),
      el("td", { class: "num muted", text: total > 0 ? fmtPercent(v.cost / total) : DASH }),
      el("td"),
    ));
  };
  const totalCost = groups.reduce((n, g) => n + byGroup.get(g).cost, 0);
  const groupRows = groups.map((g) => ({
    name: g, color: color.get(g), ...byGroup.get(g),
    href: group !== "provider" && !g.startsWith("(") ? tracesOf(g) : null,
  }));
  const byModelCard = el(
    "div",
    { class: "panel" },
    el("div", { class: "panel-head" }, `Cost by ${group}`),
    el("div", { class: "table-wrap" }, breakdownTable(groupRows, totalCost, "cost-by-group", { model: "Model", family: "Model family", provider: "Provider" }[group])),
  );
  const tagSel = el(
    "select",
    { class: "input", id: "tag-key", on: { change: () => update({ tagkey: tagSel.value }) } },
    tagKeys.length ? tagKeys.map((k) => el("option", { value: k, text: k })) : el("option", { value: "", text: "no tags" }),
  );
  if (tagKey) tagSel.value = tagKey;
  const tagBody = el("div", { class: "table-wrap" }, el("div", { class: "message", text: tagKeys.length ? "Loading\u2026" : "No tags on the traces in this range." }));
  const byTagCard = el(
    "div",
    { class: "panel" },
    el("div", { class: "panel-head" }, "Cost by tag", el("span", { class: "spacer" }), el("label", { class: "muted", style: { fontWeight: "400" } }, "Tag key ", tagSel)),
    tagBody,
  );
  app.appendChild(el("div", { class: "charts" }, byModelCard, byTagCard));

  if (!window.Chart) {
    for (const card of [costCard, tokCard]) {
      card.canvas.replaceWith(el("div", { class: "message error", text: "Charts unavailable: vendor/chart.umd.js did not load." }));
    }
  } else {
    const Chart = window.Chart;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 11;
    Chart.defaults.color = "#5f6b7c";
    const common = (yFmt, tipFmt) => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10, padding: 12 } },
        tooltip: {
          callbacks: {
            label: (ctx) => `${ctx.dataset.label}: ${tipFmt(ctx.raw)}`,
            footer: (items) => "Total: " + tipFmt(items.reduce((n, it) => n + (it.raw || 0), 0)),
          },
          filter: (item) => item.raw !== 0,
        },
      },
      scales: {
        x: { stacked: true, grid: { display: false }, title: { display: true, text: axisTitle }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { stacked: true, beginAtZero: true, grid: { color: "#eef0f3" }, ticks: { callback: yFmt, maxTicksLimit: 6 } },
      },
    });
    const datasets = (data) => groups.map((g) => ({
      label: g,
      data: data.get(g),
      backgroundColor: color.get(g),
      borderWidth: 0,
      borderRadius: 2,
      maxBarThickness: 42,
    }));
    pageCharts.push(new Chart(costCard.canvas, {
      type: "bar",
      data: { labels, datasets: datasets(costData) },
      options: common(fmtCostAxis, fmtCost),
    }));
    pageCharts.push(new Chart(tokCard.canvas, {
      type: "bar",
      data: { labels, datasets: datasets(tokData) },
      options: common(fmtTokensShort, fmtInt),
    }));
  }

  if (tagKey) {
    try {
      const tm = await api("/api/metrics", { ...base, bucket, group_by: "tag:" + tagKey, tz_offset_minutes: tzOffsetMinutes }, signal);
      const agg = new Map();
      for (const r of tm.series || []) {
        const g = r.group === null || r.group === undefined ? "(untagged)" : String(r.group);
        const cur = agg.get(g) || { cost: 0, tokens: 0, calls: 0, unpriced: 0 };
        cur.cost += r.total_cost || 0;
        cur.tokens += r.total_tokens || 0;
        cur.calls += r.calls || 0;
        cur.unpriced += r.unpriced_calls || 0;
        agg.set(g, cur);
      }
      // Calls of traces without this tag: what the by-model series has beyond the tagged ones.
      const tagged = [...agg.values()].reduce(
        (n, v) => ({ cost: n.cost + v.cost, tokens: n.tokens + v.tokens, calls: n.calls + v.calls, unpriced: n.unpriced + v.unpriced }),
        { cost: 0, tokens: 0, calls: 0, unpriced: 0 },
      );
      const all = groups.reduce(
        (n, g) => ({ cost: n.cost + byGroup.get(g).cost, tokens: n.tokens + byGroup.get(g).tokens, calls: n.calls + byGroup.get(g).calls, unpriced: n.unpriced + byGroup.get(g).unpriced }),
        { cost: 0, tokens: 0, calls: 0, unpriced: 0 },
      );
      const untaggedName = "(untagged)";
      if (all.calls > tagged.calls && !agg.has(untaggedName)) {
        agg.set(untaggedName, {
          cost: Math.max(all.cost - tagged.cost, 0),
          tokens: all.tokens - tagged.tokens,
          calls: all.calls - tagged.calls,
          unpriced: Math.max(all.unpriced - tagged.unpriced, 0),
        });
      }
      const names = [...agg.keys()].sort((x, y) => agg.get(y).cost - agg.get(x).cost);
      const tTotal = names.reduce((n, g) => n + agg.get(g).cost, 0);
      const rows = names.map((g) => ({ name: g, color: colorFor(g), ...agg.get(g) }));
      clear(tagBody).appendChild(breakdownTable(rows, tTotal, "cost-by-tag", tagKey));
    } catch (err) {
      if (!isQuiet(err)) clear(tagBody).appendChild(el("div", { class: "message error", text: err.message }));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Users and Sessions tabs: who spends, and what each conversation cost
// ---------------------------------------------------------------------------------------------

/** The range of a Users / Sessions page (default 7 days, like the Overview), widened to whole
 * hours like the rollups it is read from. */
function hourRange(query) {
  const rq = rangeFromQuery(query, "7d");
  const range = RANGES[rq.range] || rq.range === "custom" ? rq.range : "7d";
  const rawEnd = isNum(rq.end) ? rq.end : Date.now();
  const rawStart = isNum(rq.start) ? rq.start : rawEnd - (RANGES[range] ? RANGES[range].ms : 7 * DAY);
  const start = Math.floor(rawStart / HOUR) * HOUR;
  const end = Math.max(Math.ceil(rawEnd / HOUR) * HOUR, start + HOUR);
  return { range, start, end };
}

function rangeButtons(range, onPick) {
  const seg = el("div", { class: "seg", id: "range-picker", attrs: { role: "group", "aria-label": "Time range" } });
  for (const key of ["24h", "7d", "30d"]) {
    seg.appendChild(el("button", {
      type: "button", class: range === key ? "active" : "", text: key, dataset: { range: key },
      on: { click: () => onPick(key) },
    }));
  }
  return seg;
}

function pageHead(name, expId, tab, title) {
  return [
    el("div", { class: "page-head" }, el("div", null, el("h1", { class: "page-title", text: title || name }),
      el("div", { class: "page-sub" }, el("span", { class: "id", text: "Experiment " + expId })))),
    expTabs(expId, tab),
  ];
}

/** A table of rows; `cols`: [header, cell(row) -> node or text, numeric?]; `go(row)` opens one. */
function rowsTable(id, cols, rows, go, empty) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "grid", id },
      el("thead", null, el("tr", null, cols.map(([h, , num]) => el("th", { class: num ? "num" : "", text: h })))),
      el("tbody", null, rows.length ? rows.map((r) => el(
        "tr",
        { class: go ? "clickable" : "", on: go ? { click: () => go(r) } : undefined },
        cols.map(([, cell, num]) => {
          const v = cell(r);
          return el("td", { class: num ? "num" : "" }, v instanceof Node ? v : String(v));
        }),
      )) : el("tr", null, el("td", { attrs: { colspan: cols.length }, class: "muted", text: empty }))),
    ),
  );
}

function traceCols(withSession) {
  return [
    ["Time", (t) => el("span", { class: "nowrap", text: fmtTime(t.timestamp_ms) })],
    ["Name", (t) => el("a", { href: hashFor(["traces", t.trace_id]), text: t.name || t.trace_id })],
    withSession ? ["Session", (t) => t.session || DASH] : ["User", (t) => t.user || DASH],
    ["Status", (t) => statusBadge(t.status)],
    ["Duration", (t) => fmtDuration(t.execution_time_ms), true],
    ["Tokens", (t) => fmtInt(t.token_usage ? t.token_usage.total_tokens : null), true],
    ["Cost", (t) => costCell(t.cost), true],
  ];
}

async function renderUsers(expId, user, query, signal) {
  const name = await experimentName(expId, signal);
  const { range, start, end } = hourRange(query);
  const base = { experiment_id: expId, start_time_ms: start, end_time_ms: end };
  const pick = (key) => navigate(user === undefined ? ["experiments", expId, "users"] : ["experiments", expId, "users", user], new URLSearchParams({ range: key }));
  const crumbs = [{ text: "Experiments", href: "#/" }, { text: name, href: hashFor(["experiments", expId, "traces"]) }];
  const rangeText = el("span", { class: "muted", id: "range-text", text: `${fmtTime(start)} \u2013 ${fmtTime(end)}` });
  if (user === undefined) {
    setCrumbs([...crumbs, { text: "Users" }]);
    app.append(...pageHead(name, expId, "users"), el("div", { class: "toolbar" }, rangeButtons(range, pick), rangeText));
    const body = await api("/api/users", { ...base, limit: 100 }, signal);
    const users = body.users || [];
    const total = users.reduce((n, u) => n + (u.total_cost || 0), 0);
    const go = (u) => navigate(["experiments", expId, "users", u.user], new URLSearchParams({ range }));
    app.appendChild(el("div", { class: "panel" }, el("div", { class: "panel-head" }, "Top spenders"), rowsTable("users-table", [
      ["User", (u) => el("a", { href: hashFor(["experiments", expId, "users", u.user], new URLSearchParams({ range })), text: u.user, on: { click: (ev) => ev.stopPropagation() } })],
      ["Traces", (u) => fmtInt(u.traces), true],
      ["Calls", (u) => fmtInt(u.calls), true],
      ["Tokens", (u) => fmtInt(u.total_tokens), true],
      ["Cost", (u) => fmtCost(u.total_cost), true],
      ["Share", (u) => (total > 0 ? fmtPercent(u.total_cost / total) : DASH), true],
    ], users, go, "No traces with a user in this range: set one with update_current_trace(user=...).")));
    return;
  }
  setCrumbs([...crumbs, { text: "Users", href: hashFor(["experiments", expId, "users"]) }, { text: user }]);
  app.append(...pageHead(name, expId, "users", user), el("div", { class: "toolbar" }, rangeButtons(range, pick), rangeText));
  const bucket = pickBucket(start, end);
  const tz = -new Date(end).getTimezoneOffset();
  const [metrics, traces] = await Promise.all([
    api("/api/metrics", { ...base, bucket, group_by: "user", user, tz_offset_minutes: tz }, signal),
    api("/api/traces", { ...base, user, max_results: 100, order_by: "timestamp_ms DESC" }, signal),
  ]);
  const series = metrics.series || [];
  const sum = (k) => series.reduce((n, r) => n + (r[k] || 0), 0);
  app.appendChild(el(
    "div",
    { class: "kpis", id: "user-kpis" },
    kpi("Total cost", fmtCost(sum("total_cost")), el("span", { text: `${fmtInt(sum("calls"))} LLM calls` }), "user-cost"),
    kpi("Traces", fmtInt(sum("traces")), null, "user-traces"),
    kpi("Total tokens", fmtInt(sum("total_tokens")), el("span", null, "in ", el("b", { text: fmtInt(sum("input_tokens")) }), " \u00b7 out ", el("b", { text: fmtInt(sum("output_tokens")) })), "user-tokens"),
  ));
  const bucketMs = metrics.bucket_ms;
  const canvas = el("canvas", { id: "chart-user-cost", attrs: { role: "img", "aria-label": "Cost over time" } });
  app.appendChild(el("div", { class: "panel" }, el("div", { class: "panel-head" }, "Cost over time", el("span", { class: "spacer" }), el("span", { class: "muted", text: `per ${bucket}` })), el("div", { class: "chart-box" }, canvas)));
  const off = tz * 60000;
  const buckets = [];
  for (let b = Math.floor((start + off) / bucketMs) * bucketMs - off; b < end && buckets.length < 2000; b += bucketMs) buckets.push(b);
  const costs = buckets.map((b) => series.filter((r) => r.bucket_ms === b).reduce((n, r) => n + (r.total_cost || 0), 0));
  if (window.Chart) {
    pageCharts.push(new window.Chart(canvas, {
      type: "bar",
      data: { labels: buckets.map((b) => bucketLabel(b, bucketMs)), datasets: [{ label: user, data: costs, backgroundColor: colorFor(user), borderWidth: 0, maxBarThickness: 42 }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => fmtCost(ctx.raw) } } }, scales: { y: { beginAtZero: true, ticks: { callback: fmtCostAxis } } } },
    }));
  }
  canvas.dataset.costs = JSON.stringify(costs);
  app.appendChild(el("div", { class: "panel" }, el("div", { class: "panel-head" }, "Their traces"), rowsTable(
    "user-traces-table", traceCols(true), traces.traces || [], (t) => navigate(["traces", t.trace_id]), "No traces in this range.",
  )));
}

async function renderSessions(expId, session, query, signal) {
  const name = await experimentName(expId, signal);
  const crumbs = [{ text: "Experiments", href: "#/" }, { text: name, href: hashFor(["experiments", expId, "traces"]) }];
  if (session === undefined) {
    const { range, start, end } = hourRange(query);
    setCrumbs([...crumbs, { text: "Sessions" }]);
    const pick = (key) => navigate(["experiments", expId, "sessions"], new URLSearchParams({ range: key }));
    const rangeText = el("span", { class: "muted", id: "range-text", text: `${fmtTime(start)} \u2013 ${fmtTime(end)}` });
    app.append(...pageHead(name, expId, "sessions"), el("div", { class: "toolbar" }, rangeButtons(range, pick), rangeText));
    const body = await api("/api/sessions", { experiment_id: expId, start_time_ms: start, end_time_ms: end, limit: 100 }, signal);
    const go = (s) => navigate(["experiments", expId, "sessions", s.session]);
    app.appendChild(el("div", { class: "panel" }, el("div", { class: "panel-head" }, "Sessions by cost"), rowsTable("sessions-table", [
      ["Session", (s) => el("a", { href: hashFor(["experiments", expId, "sessions", s.session]), text: s.session, on: { click: (ev) => ev.stopPropagation() } })],
      ["User", (s) => s.user || DASH],
      ["Started", (s) => el("span", { class: "nowrap", text: fmtTime(s.first_ms) })],
      ["Traces", (s) => fmtInt(s.traces), true],
      ["Tokens", (s) => fmtInt(s.total_tokens), true],
      ["Duration", (s) => fmtDuration(s.duration_ms), true],
      ["Cost", (s) => fmtCost(s.total_cost), true],
    ], body.sessions || [], go, "No traces with a session in this range: set one with update_current_trace(session=...).")));
    return;
  }
  setCrumbs([...crumbs, { text: "Sessions", href: hashFor(["experiments", expId, "sessions"]) }, { text: session }]);
  app.append(...pageHead(name, expId, "sessions", session));
  const body = await api("/api/traces", { experiment_id: expId, session, max_results: 1000, order_by: "timestamp_ms ASC" }, signal);
  const traces = body.traces || [];
  const first = traces.length ? traces[0].timestamp_ms : null;
  const last = traces.reduce((m, t) => Math.max(m, t.timestamp_ms + (t.execution_time_ms || 0)), first || 0);
  const sum = (f) => traces.reduce((n, t) => n + (f(t) || 0), 0);
  app.appendChild(el(
    "div",
    { class: "kpis", id: "session-kpis" },
    kpi("Total cost", fmtCost(sum((t) => t.cost && t.cost.total_cost)), null, "session-cost"),
    kpi("Traces", fmtInt(traces.length), traces.length && traces[0].user ? el("span", null, "user ", el("b", { text: traces[0].user })) : null, "session-traces"),
    kpi("Total tokens", fmtInt(sum((t) => t.token_usage && t.token_usage.total_tokens)), null, "session-tokens"),
    kpi("Duration", fmtDuration(first === null ? null : last - first), first === null ? null : el("span", { text: fmtTime(first) }), "session-duration"),
  ));
  app.appendChild(el("div", { class: "panel" }, el("div", { class: "panel-head" }, "Its traces, in order"), rowsTable(
    "session-traces-table", traceCols(false), traces, (t) => navigate(["traces", t.trace_id]), "No traces in this session.",
  )));
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

document.getElementById("tz-note").textContent = tzLabel();
// ---------------------------------------------------------------------------------------------
// Prices: effective price look-up, the server's price book, unpriced models, re-pricing
// ---------------------------------------------------------------------------------------------

/** POST/PUT/DELETE with a JSON body; errors as api() raises them (422: the field and why). */
async function apiSend(method, path, body) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  const token = savedToken();
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await res.json();
  } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const detail = data && data.detail !== undefined ? data.detail : res.statusText;
    const text = detail && detail.message ? detail.message : readableDetail(detail);
    throw new ApiError(res.status, res.status === 422 ? text : `${res.status}: ${text}`);
  }
  return data;
}

function field(label, input) {
  return el("label", { class: "pb-field" }, el("span", { class: "muted", text: label }), input);
}

function textInput(id, placeholder) {
  return el("input", { class: "input", id, placeholder: placeholder || "", attrs: { autocomplete: "off" } });
}

function perMillionText(map) {
  const short = { input_cost_per_token: "input", output_cost_per_token: "output",
    cache_read_input_token_cost: "cache read", cache_creation_input_token_cost: "cache write" };
  return Object.entries(map || {}).map(([k, v]) => `${short[k] || k} $${v}`).join(", ");
}

async function renderPrices(query, signal) {
  setCrumbs([{ text: "Experiments", href: "#/" }, { text: "Prices" }]);
  app.append(el("div", { class: "page-head" }, el("div", null,
    el("h1", { class: "page-title", text: "Prices" }),
    el("div", { class: "page-sub", text: "The price in force for any model and where it comes from; prices kept on this server; models seen without a price; re-pricing of stored traces." }))));

  // look-up
  const lookModel = textInput("price-lookup-model", "model, e.g. gpt-4o");
  const lookProvider = textInput("price-lookup-provider", "any (or openai, acme, ...)");
  const lookAt = textInput("price-lookup-at", "at (ISO date; default now)");
  const lookOut = el("div", { id: "price-lookup-result", class: "pb-result" });
  const look = async () => {
    clear(lookOut);
    if (!lookModel.value.trim()) return;
    try {
      // a price kept for one provider is found with that provider, as a span of it is priced
      const p = await api("/api/prices/" + encodeURIComponent(lookModel.value.trim()),
        { at: lookAt.value.trim(), provider: lookProvider.value.trim() });
      lookOut.append(el("div", null, el("b", { text: p.model_id }), ` \u00b7 ${p.origin} \u00b7 ${p.source}`),
        el("div", { class: "mono", text: perMillionText(p.per_million) + " per 1M tokens" }));
    } catch (err) {
      showError(lookOut, err);
    }
  };
  app.append(el("section", { class: "panel pb-panel" }, el("div", { class: "panel-head" }, "Effective price"),
    el("div", { class: "panel-body pb-row" }, field("Model", lookModel), field("Provider", lookProvider), field("At", lookAt),
      el("button", { class: "btn", id: "price-lookup-go", text: "Look up", on: { click: look } })), lookOut));

  // the price book: form + table
  const f = {
    model: textInput("pb-model", "model or pattern (ft:acme-*)"), provider: textInput("pb-provider", "any"),
    tier: el("select", { class: "input", id: "pb-tier" }, ["", "batch", "priority", "flex"].map((t) => el("option", { value: t, text: t || "standard" }))),
    effective_from: textInput("pb-effective-from", "always (or 2026-01-01)"),
    input: textInput("pb-input", "$ / 1M"), output: textInput("pb-output", "$ / 1M"),
    cache_read: textInput("pb-cache-read", "$ / 1M"), cache_write: textInput("pb-cache-write", "$ / 1M"),
    note: textInput("pb-note", "negotiated discount, ..."),
  };
  const formMsg = el("div", { id: "pb-form-message" });
  const tableBody = el("tbody");
  let editing = null; // the price book entry the form changes (PUT), or null: the form adds
  const addButton = el("button", { class: "btn primary", id: "pb-add", text: "Add price" });
  const cancelButton = el("button", { class: "btn", id: "pb-cancel", text: "Cancel", hidden: true });
  const setEditing = (p) => {
    editing = p;
    addButton.textContent = p ? `Save price #${p.price_id}` : "Add price";
    cancelButton.hidden = !p;
    const perMillion = (p && p.per_million) || {};
    const fill = {
      model: p ? p.model : "", provider: p ? p.provider || "" : "", tier: p ? p.tier || "" : "",
      effective_from: p && p.effective_from ? p.effective_from.slice(0, 19) : "", note: p ? p.note || "" : "",
      input: perMillion.input_cost_per_token ?? "", output: perMillion.output_cost_per_token ?? "",
      cache_read: perMillion.cache_read_input_token_cost ?? "", cache_write: perMillion.cache_creation_input_token_cost ?? "",
    };
    for (const [k, v] of Object.entries(fill)) f[k].value = v;
  };
  const loadBook = async () => {
    const body = await api("/api/pricebook", null, signal);
    clear(tableBody);
    if (!body.prices.length) tableBody.append(el("tr", null, el("td", { attrs: { colspan: 7 }, class: "muted", text: "No prices on this server yet." })));
    for (const p of body.prices) {
      const del = async () => {
        await apiSend("DELETE", `/api/pricebook/${p.price_id}`);
        await loadBook();
      };
      const edit = () => {
        clear(formMsg);
        setEditing(p);
        f.model.focus();
      };
      tableBody.append(el("tr", { dataset: { priceId: String(p.price_id) } },
        el("td", { class: "mono", text: p.model }), el("td", { text: p.provider || "any" }),
        el("td", { text: p.tier || "standard" }), el("td", { class: "nowrap", text: p.effective_from ? p.effective_from.slice(0, 19).replace("T", " ") : "always" }),
        el("td", { class: "mono", text: perMillionText(p.per_million) }), el("td", { class: "muted", text: p.note || "" }),
        el("td", { class: "nowrap" }, el("button", { class: "btn small pb-edit", text: "Edit", on: { click: edit } }), " ",
          el("button", { class: "btn small", text: "Delete", on: { click: del } }))));
    }
  };
  const add = async () => {
    clear(formMsg);
    // an entry's other prices (per-unit ones, tiers of fields the form has no box for) are
    // kept when it is changed: the form's boxes (per 1M tokens) replace only their own
    // fields; the others keep their catalog names (per unit)
    const prices = editing ? { ...editing.prices } : {};
    const fields = { input: "input_cost_per_token", output: "output_cost_per_token",
      cache_read: "cache_read_input_token_cost", cache_write: "cache_creation_input_token_cost" };
    for (const [k, name] of Object.entries(fields)) {
      delete prices[name];
      if (f[k].value.trim() !== "") prices[k] = f[k].value.trim();
    }
    const body = { model: f.model.value.trim(), provider: f.provider.value.trim() || null, tier: f.tier.value || null,
      effective_from: f.effective_from.value.trim() || null, prices, note: f.note.value.trim() || null };
    try {
      if (editing) {
        await apiSend("PUT", `/api/pricebook/${editing.price_id}`, body);
        formMsg.append(el("div", { class: "message", text: `Changed price #${editing.price_id} (${body.model}).` }));
        setEditing(null);
      } else {
        await apiSend("POST", "/api/pricebook", body);
        formMsg.append(el("div", { class: "message", text: `Added a price for ${body.model}.` }));
      }
      await loadBook();
      await loadUnpriced();
    } catch (err) {
      showError(formMsg, err);
    }
  };
  addButton.addEventListener("click", add);
  cancelButton.addEventListener("click", () => {
    clear(formMsg);
    setEditing(null);
  });
  app.append(el("section", { class: "panel pb-panel", id: "price-book" }, el("div", { class: "panel-head" }, "Price book"),
    el("div", { class: "panel-body pb-row" }, field("Model", f.model), field("Provider", f.provider), field("Tier", f.tier),
      field("Effective from", f.effective_from), field("Input", f.input), field("Output", f.output),
      field("Cache read", f.cache_read), field("Cache write", f.cache_write), field("Note", f.note),
      addButton, cancelButton),
    formMsg,
    el("div", { class: "table-wrap" }, el("table", { class: "grid", id: "price-book-table" },
      el("thead", null, el("tr", null, ["Model", "Provider", "Tier", "Effective from", "Per 1M tokens", "Note", ""].map((h) => el("th", { text: h })))),
      tableBody))));

  // unpriced models
  const unpricedBody = el("tbody");
  const loadUnpriced = async () => {
    const body = await api("/api/unpriced-models", null, signal);
    clear(unpricedBody);
    if (!body.models.length) unpricedBody.append(el("tr", null, el("td", { attrs: { colspan: 7 }, class: "muted", text: "Every model seen in traces has a price." })));
    for (const m of body.models) {
      const pick = () => {
        f.model.value = m.model;
        f.provider.value = m.provider || "";
        f.input.focus();
      };
      unpricedBody.append(el("tr", { dataset: { model: m.model } },
        el("td", { class: "mono", text: m.model || "(no model)" }), el("td", { text: m.provider || "" }),
        el("td", { class: "num", text: fmtInt(m.unpriced_calls) }), el("td", { class: "num", text: fmtInt(m.input_tokens) }),
        el("td", { class: "num", text: fmtInt(m.output_tokens) }), el("td", { class: "nowrap muted", text: fmtTime(m.last_hour_ms) }),
        el("td", null, m.price_now ? el("span", { class: "muted", text: "priced now: re-price" })
          : el("button", { class: "btn small pb-add-price", text: "Add price", on: { click: pick } }))));
    }
  };
  app.append(el("section", { class: "panel pb-panel", id: "unpriced-models" }, el("div", { class: "panel-head" }, "Unpriced models"),
    el("div", { class: "table-wrap" }, el("table", { class: "grid", id: "unpriced-table" },
      el("thead", null, el("tr", null, ["Model", "Provider", "Unpriced calls", "Input tokens", "Output tokens", "Last seen", ""].map((h) => el("th", { text: h })))),
      unpricedBody))));

  // re-pricing
  const rp = { since: textInput("rp-since", "2026-01-01"), until: textInput("rp-until", "2026-02-01"), model: textInput("rp-model", "all models") };
  const rpOut = el("div", { id: "reprice-result" });
  const runsBody = el("tbody");
  const loadRuns = async () => {
    const body = await api("/api/reprice", null, signal);
    clear(runsBody);
    for (const r of body.runs) {
      runsBody.append(el("tr", null, el("td", { text: String(r.run_id) }), el("td", { class: "nowrap", text: fmtTime(r.started_ms) }),
        el("td", { class: "nowrap", text: `${fmtTime(r.since_ms)} \u2013 ${fmtTime(r.until_ms)}` }), el("td", { text: r.model || "all" }),
        el("td", { text: r.status }), el("td", { class: "num", text: fmtInt(r.changed) }),
        el("td", { class: "num mono", text: "$" + r.report.old_total }), el("td", { class: "num mono", text: "$" + r.report.new_total })));
    }
  };
  const run = (dry) => async () => {
    clear(rpOut);
    try {
      const r = await apiSend("POST", "/api/reprice", { since: rp.since.value.trim(), until: rp.until.value.trim(), model: rp.model.value.trim() || null, dry_run: dry });
      rpOut.append(el("div", { class: "message", text: `${dry ? "Dry run: nothing written" : "Re-priced"}. ${r.traces} traces read, ${r.changed_traces} changed; total $${r.old_total} \u2192 $${r.new_total} (${r.difference}).` }),
        el("table", { class: "grid", id: "reprice-models" }, el("thead", null, el("tr", null, ["Model", "Spans", "Old", "New", "Difference"].map((h) => el("th", { text: h })))),
          el("tbody", null, Object.entries(r.models).map(([name, m]) => el("tr", { dataset: { model: name } }, el("td", { class: "mono", text: name }),
            el("td", { class: "num", text: fmtInt(m.spans) }), el("td", { class: "num mono", text: "$" + m.old_cost }),
            el("td", { class: "num mono", text: "$" + m.new_cost }), el("td", { class: "num mono", text: m.difference }))))));
      if (!dry) {
        await loadRuns();
        await loadUnpriced();
      }
    } catch (err) {
      showError(rpOut, err);
    }
  };
  app.append(el("section", { class: "panel pb-panel", id: "reprice" }, el("div", { class: "panel-head" }, "Re-price stored traces"),
    el("div", { class: "panel-body pb-row" }, field("Since", rp.since), field("Until", rp.until), field("Model", rp.model),
      el("button", { class: "btn", id: "rp-dry", text: "Dry run", on: { click: run(true) } }),
      el("button", { class: "btn primary", id: "rp-run", text: "Re-price", on: { click: run(false) } })),
    rpOut,
    el("div", { class: "table-wrap" }, el("table", { class: "grid", id: "reprice-runs" },
      el("thead", null, el("tr", null, ["Run", "Started", "Range", "Model", "Status", "Traces changed", "Old total", "New total"].map((h) => el("th", { text: h })))),
      runsBody))));

  if (query.get("model")) {
    lookModel.value = query.get("model");
    await look();
  }
  await Promise.all([loadBook(), loadUnpriced(), loadRuns()]);
}

window.addEventListener("hashchange", route);
route();

// For tests and debugging: the formatting rules, so checks use the same ones as the page.
window.llmledgerUI = { fmtCost, fmtInt, fmtDuration, timesMillion };
