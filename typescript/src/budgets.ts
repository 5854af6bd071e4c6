/** Budgets: stop the next LLM call, in this process, once the spend in scope reached a
 * limit. The semantics of the Python SDK's llmledger/budgets.py (see docs/budgets.md):
 *
 * - budget({usd}, fn): a block (AsyncLocalStorage: the async work started inside counts).
 *   Its spend is the cost of the LLM calls that end inside it, counted by the rule of trace
 *   totals: a span's cost counts unless a span below it already counted.
 * - setBudget({usd, per, tags}): a calendar window (hour, day, month; UTC) across every
 *   process sending to the same server: the server's spend (its hourly rollups, /api/metrics,
 *   read at most every LLMLEDGER_BUDGET_REFRESH_SECONDS) plus what this process spent since.
 *   setBudget({usd, per, user}): the same for the traces of one user
 *   (updateCurrentTrace({user})), read from the server's hourly user rollup.
 *
 * Before each autologged openai / anthropic call every budget in scope is checked; one that
 * reached its limit refuses the call: it is not sent, a span with status ERROR records it, and
 * the call's promise rejects with BudgetExceeded (onExceed "warn" warns once and lets calls
 * go; a function is called with the error, and the call goes on unless it throws). */
import { AsyncLocalStorage } from "node:async_hooks";
import { getCurrentActiveSpan } from "./fluent";
import { addDec, cmpDec, decToNumber, decToString, parseDecimal, ZERO, type Dec } from "./pricing/money";
import { authHeader } from "./provider";
import { addEndHook, USER_KEY, type LiveSpan } from "./span";
import { sdkState } from "./state";

export const BUDGET_REFRESH_ENV = "LLMLEDGER_BUDGET_REFRESH_SECONDS";
const DEFAULT_REFRESH_SECONDS = 30;
const HOUR_MS = 3_600_000;
const FLUSH_TIMEOUT_MS = 5_000;
const PERIODS = ["hour", "day", "month"] as const;
export type Period = (typeof PERIODS)[number];

/** An LLM call was refused: the spend in `scope` reached `limitUsd`. */
export class BudgetExceeded extends Error {
  constructor(
    readonly scope: string,
    readonly limitUsd: number,
    readonly spentUsd: number,
  ) {
    super(`llmledger budget exceeded for ${scope}: spent $${spentUsd.toFixed(6)} of $${limitUsd.toFixed(6)}; the LLM call was not sent`);
    this.name = "BudgetExceeded";
  }
}

export type OnExceed = "raise" | "warn" | ((error: BudgetExceeded) => unknown);

function usdAmount(usd: unknown): Dec {
  let amount: Dec | null = null;
  if ((typeof usd === "number" && Number.isFinite(usd)) || typeof usd === "string") {
    try {
      amount = parseDecimal(usd);
    } catch {
      amount = null;
    }
  }
  if (amount === null || amount.n <= 0n) {
    throw new RangeError(`a budget needs a positive number of USD (usd), got ${JSON.stringify(usd) ?? String(usd)}`);
  }
  return amount;
}

function checkOnExceed(onExceed: unknown): void {
  if (onExceed !== "raise" && onExceed !== "warn" && typeof onExceed !== "function") {
    throw new TypeError(`onExceed must be "raise", "warn" or a function, got ${JSON.stringify(onExceed)}`);
  }
}

/** A limit on the spend of a block; `spentUsd` grows as the block's LLM calls end. */
export class Budget {
  private spentExact: Dec = ZERO;
  warned = false;

  constructor(
    readonly limit: Dec,
    readonly onExceed: OnExceed,
    readonly name: string,
  ) {}

  get scope(): string {
    return `block '${this.name}'`;
  }

  get limitUsd(): number {
    return decToNumber(this.limit);
  }

  /** the spend counted so far (USD); a window's: the server's last reading plus this
   * process's spend since */
  get spentUsd(): number {
    return decToNumber(this.spend());
  }

  /** the same, exact, as a decimal string ("0.0000774") */
  get spent(): string {
    return decToString(this.spend());
  }

  /** the spend in scope now, exact */
  spend(): Dec {
    return this.spentExact;
  }

  add(cost: Dec, _traceId: string): void {
    this.spentExact = addDec(this.spentExact, cost);
  }

  /** The trace's local root span ended (its cost goes to the server next). */
  traceFinished(_traceId: string): void {}
}

/** How long a window's spend read from the server is trusted (seconds). */
export function refreshSeconds(): number {
  const raw = process.env[BUDGET_REFRESH_ENV];
  if (raw === undefined || raw.trim() === "") return DEFAULT_REFRESH_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    warnOnce(`refresh:${raw}`, `llmledger: ${BUDGET_REFRESH_ENV} must be a number of seconds >= 0, got ${JSON.stringify(raw)}; using ${DEFAULT_REFRESH_SECONDS}`);
    return DEFAULT_REFRESH_SECONDS;
  }
  return value;
}

/** The start (epoch ms, UTC) of the `per` window holding `nowMs`. */
export function periodStartMs(per: Period, nowMs: number): number {
  const d = new Date(nowMs);
  if (per === "hour") return Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  if (per === "day") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** A limit on the spend of a calendar window (UTC) across every process of a server: the
 * server's spend (read at most every refreshSeconds()) plus the cost of this process's calls
 * the server does not have yet (traces still open, and finished ones until a read after they
 * were stored). */
export class WindowBudget extends Budget {
  private periodStart = -1;
  private stored: Dec = ZERO;
  private fetchedAt = -Infinity;
  private unstored = new Map<string, Dec>(); // trace id -> its cost here
  private finished = new Set<string>(); // of those, traces whose local root ended
  private refreshing: Promise<void> | null = null;

  constructor(
    limit: Dec,
    onExceed: OnExceed,
    readonly per: Period,
    readonly tags: Record<string, string>,
    /** only the traces of this user (their `mlflow.trace.user`) count and are checked */
    readonly user: string | null = null,
  ) {
    super(limit, onExceed, "window");
  }

  get scope(): string {
    const parts = Object.entries(this.tags).map(([k, v]) => `${k}=${v}`);
    if (this.user !== null) parts.unshift(`user=${this.user}`);
    return `${this.per} (${parts.join(", ") || "all traces"})`;
  }

  matches(scope: Scope): boolean {
    if (this.user !== null && scope.user !== this.user) return false;
    return Object.entries(this.tags).every(([k, v]) => scope.tags[k] === v);
  }

  /** Whether the spend must be read from the server before it is used. */
  stale(nowMs: number): boolean {
    return periodStartMs(this.per, nowMs) !== this.periodStart || nowMs - this.fetchedAt >= refreshSeconds() * 1000;
  }

  spend(): Dec {
    let local = ZERO;
    for (const cost of this.unstored.values()) local = addDec(local, cost);
    return addDec(this.stored, local);
  }

  add(cost: Dec, traceId: string): void {
    this.unstored.set(traceId, addDec(this.unstored.get(traceId) ?? ZERO, cost));
  }

  traceFinished(traceId: string): void {
    if (this.unstored.has(traceId)) this.finished.add(traceId);
  }

  /** Read the window's spend from the server (one read at a time); on failure keep the
   * last one and count locally. Never rejects. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.read().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async read(): Promise<void> {
    const start = periodStartMs(this.per, Date.now());
    const finished = new Set(this.finished);
    let stored: Dec;
    let allStored: boolean;
    try {
      [stored, allStored] = await storedSpend(start, this.tags, this.user);
    } catch (error) {
      warnOnce(`read:${this.scope}`, `llmledger: budget ${this.scope}: spend not read from the server (${(error as Error).message}); counting this process's calls only until it answers`);
      if (start !== this.periodStart) this.newWindow(start, ZERO);
      this.fetchedAt = Date.now(); // next try after refreshSeconds(), not on every call
      return;
    }
    if (start !== this.periodStart) {
      this.newWindow(start, stored);
    } else if (allStored) {
      // finished traces are in `stored` now: count them once
      for (const traceId of finished) {
        this.unstored.delete(traceId);
        this.finished.delete(traceId);
      }
    }
    this.stored = stored;
    this.fetchedAt = Date.now();
  }

  /** A new window: the old one's calls are out. */
  private newWindow(start: number, stored: Dec): void {
    this.periodStart = start;
    this.stored = stored;
    this.unstored.clear();
    this.finished.clear();
  }
}

/** Wait (at most FLUSH_TIMEOUT_MS) until this process's finished spans are delivered;
 * true when they all were. */
async function flushForRead(): Promise<boolean> {
  const provider = sdkState().provider;
  if (!provider) return true;
  const droppedBefore = provider.processor.stats.dropped;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), FLUSH_TIMEOUT_MS);
    timer.unref();
  });
  const flushed = provider.processor.forceFlush().then(
    () => provider.processor.stats.dropped === droppedBefore,
    () => false,
  );
  try {
    return await Promise.race([flushed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface MetricsRow {
  group?: string;
  total_cost?: number | null;
}

/** Cost stored on the server since `startMs` (all experiments), from its hourly rollups (the
 * user rollup for a `user`), after delivering this process's finished spans; and whether they
 * all were delivered. */
async function storedSpend(startMs: number, tags: Record<string, string>, user: string | null = null): Promise<[Dec, boolean]> {
  const trackingUri = sdkState().provider?.trackingUri;
  if (!trackingUri) throw new Error("no tracking server: init({trackingUri}) or LLMLEDGER_TRACKING_URI");
  const allStored = await flushForRead();
  const endMs = (Math.floor(Date.now() / HOUR_MS) + 1) * HOUR_MS;
  // one key per rollup: a user budget has no tag (setBudget refuses both)
  const [key, value] = user !== null ? [null, null] : (Object.entries(tags)[0] ?? [null, null]);
  const query = new URLSearchParams({
    start_time_ms: String(startMs),
    end_time_ms: String(endMs),
    bucket: "hour",
    group_by: key === null ? "none" : `tag:${key}`,
  });
  if (user !== null) query.set("user", user);
  const response = await fetch(`${trackingUri}/api/metrics?${query}`, {
    headers: authHeader(),
    signal: AbortSignal.timeout(FLUSH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`GET /api/metrics answered ${response.status}`);
  const body = (await response.json()) as { series?: MetricsRow[] };
  let total = ZERO;
  for (const row of body.series ?? []) {
    if (key !== null && row.group !== value) continue;
    const cost = row.total_cost;
    if (typeof cost === "number" && Number.isFinite(cost) && cost !== 0) total = addDec(total, parseDecimal(cost));
  }
  return [total, allStored];
}

// -- the budgets in force ---------------------------------------------------------------------
const blocks = new AsyncLocalStorage<readonly Budget[]>();
const windows: WindowBudget[] = [];
let blocksEverUsed = false;

function active(): boolean {
  return windows.length > 0 || blocksEverUsed;
}

export interface BudgetOptions {
  /** the limit in USD (> 0): a number, or a decimal string to be exact */
  usd: number | string;
  /** "raise" (default): refuse the call; "warn": warn once and send it; a function: called
   * with the BudgetExceeded, the call goes on unless it throws */
  onExceed?: OnExceed;
  /** shown in BudgetExceeded's scope ("block '<name>'") */
  name?: string;
}

/** Run `fn` under a budget: LLM calls inside it (and in the async work it starts) are
 * refused once their cost reached `usd`. `fn` gets the Budget (`spentUsd` so far); its
 * result (or promise) is returned. */
export function budget<T>(options: BudgetOptions, fn: (budget: Budget) => T): T {
  checkOnExceed(options.onExceed ?? "raise");
  const block = new Budget(usdAmount(options.usd), options.onExceed ?? "raise", options.name ?? "budget");
  blocksEverUsed = true;
  return blocks.run([...(blocks.getStore() ?? []), block], () => fn(block));
}

export interface WindowBudgetOptions {
  usd: number | string;
  /** the calendar window, UTC (default "day") */
  per?: Period;
  /** one tag: only traces carrying it count and are checked */
  tags?: Record<string, unknown>;
  /** only the traces of this user (updateCurrentTrace({user})) count and are checked; not
   * with `tags` */
  user?: string;
  onExceed?: OnExceed;
}

/** A budget for every `per` window ("hour", "day", "month"; UTC) across all processes
 * sending to the tracking server; `tags` (one key) narrows it to the traces carrying that
 * tag, `user` to the traces of that user. Returns the WindowBudget; clearBudgets() removes
 * them all. */
export function setBudget(options: WindowBudgetOptions): WindowBudget {
  const per = options.per ?? "day";
  if (!(PERIODS as readonly string[]).includes(per)) {
    throw new RangeError(`per must be one of ${PERIODS.join(", ")}, got ${JSON.stringify(per)}`);
  }
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.tags ?? {})) tags[String(k)] = String(v);
  if (Object.keys(tags).length > 1) throw new RangeError("a window budget takes one tag; set one budget per tag");
  const user = options.user ?? null;
  if (user !== null && (typeof user !== "string" || user === "")) {
    throw new TypeError(`user must be a non-empty string, got ${JSON.stringify(user)}`);
  }
  if (user !== null && Object.keys(tags).length > 0) throw new RangeError("a window budget takes a user or a tag, not both");
  checkOnExceed(options.onExceed ?? "raise");
  const window = new WindowBudget(usdAmount(options.usd), options.onExceed ?? "raise", per, tags, user);
  windows.push(window);
  void window.refresh(); // the first read starts now, not on the first call
  return window;
}

/** Remove every window budget (block budgets end with their block). */
export function clearBudgets(): void {
  windows.length = 0;
}

// -- checking before a call -------------------------------------------------------------------
/** What a window budget is matched against: the trace's tags and user. */
interface Scope {
  tags: Record<string, string>;
  user: string | null;
}

function inScope(scope: Scope): Budget[] {
  return [...(blocks.getStore() ?? []), ...windows.filter((w) => w.matches(scope))];
}

function currentScope(span: LiveSpan | null): Scope {
  const root = (span ?? getCurrentActiveSpan())?.root;
  return { tags: root?.traceTags ?? {}, user: root?.traceMetadata?.[USER_KEY] ?? null };
}

/** The decision over budgets whose spend is known: the BudgetExceeded refusing the call, or
 * null to send it. Warnings and callbacks of budgets that do not refuse happen here; a
 * callback that throws refuses the call with its error. */
function decide(budgets: Budget[]): Error | null {
  for (const b of budgets) {
    const spent = b.spend();
    if (cmpDec(spent, b.limit) < 0) continue;
    const error = new BudgetExceeded(b.scope, b.limitUsd, decToNumber(spent));
    if (b.onExceed === "raise") return error;
    if (b.onExceed === "warn") {
      if (!b.warned) {
        b.warned = true;
        console.warn(`llmledger: ${error.message.replace("; the LLM call was not sent", "; the call is sent (onExceed: warn)")}`);
      }
      continue;
    }
    try {
      b.onExceed(error);
    } catch (thrown) {
      return thrown instanceof Error ? thrown : new Error(String(thrown));
    }
  }
  return null;
}

/** Check the budgets in scope before an LLM call (`span` is the call's span): null to send
 * it, an Error to refuse it, or a promise of either when a window's spend must be read from
 * the server first. Never throws. */
export function checkBudgets(span: LiveSpan | null): Error | null | Promise<Error | null> {
  if (!active()) return null;
  try {
    const budgets = inScope(currentScope(span));
    const now = Date.now();
    const stale = budgets.filter((b): b is WindowBudget => b instanceof WindowBudget && b.stale(now));
    if (stale.length === 0) return decide(budgets);
    return Promise.all(stale.map((w) => w.refresh())).then(() => safeDecide(budgets));
  } catch (error) {
    warnOnce("check", `llmledger: budgets not checked (${(error as Error).message})`);
    return null;
  }
}

function safeDecide(budgets: Budget[]): Error | null {
  try {
    return decide(budgets);
  } catch (error) {
    warnOnce("check", `llmledger: budgets not checked (${(error as Error).message})`);
    return null;
  }
}

// -- counting spend as calls end --------------------------------------------------------------
const covered = new Map<string, Set<string>>(); // trace id -> spans below which a cost counted
const MAX_OPEN_TRACES = 10_000;

function exactCost(span: LiveSpan): Dec | null {
  const cost = span.llmCost;
  if (!cost) return null;
  const exact = (cost as { decimals?: Record<string, string> }).decimals?.total_cost;
  return parseDecimal(exact ?? cost.total_cost);
}

function count(span: LiveSpan): void {
  const traceId = span.traceId;
  const isRoot = span.root === span;
  const counts = covered.get(traceId);
  const countedBelow = counts?.has(span.spanId) ?? false;
  if (isRoot) covered.delete(traceId);
  const budgets = inScope(currentScope(span));
  const cost = countedBelow ? null : exactCost(span);
  if (cost !== null) {
    if (!isRoot) coverAncestors(span, traceId);
    for (const b of budgets) b.add(cost, traceId);
  }
  if (isRoot) for (const b of budgets) b.traceFinished(traceId);
}

function coverAncestors(span: LiveSpan, traceId: string): void {
  if (covered.size >= MAX_OPEN_TRACES && !covered.has(traceId)) covered.clear(); // roots that never ended
  let set = covered.get(traceId);
  if (!set) {
    set = new Set();
    covered.set(traceId, set);
  }
  for (let parent = span.parent; parent && !set.has(parent.spanId); parent = parent.parent) set.add(parent.spanId);
}

addEndHook((span) => {
  if (!active()) return;
  try {
    count(span);
  } catch (error) {
    warnOnce("count", `llmledger: budget: the cost of span ${JSON.stringify(span.name)} not counted (${(error as Error).message})`);
  }
});

const warned = new Set<string>();

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(message);
}
