/** llmledger for Node: trace LLM calls with token usage and exact cost, export them over
 * OTLP to an llmledger server, read traces back. The API mirrors MLflow's TypeScript SDK. */
export { SpanAttributeKey, SpanType } from "./attributes";
export { init, flushTraces, exportStats, type InitOptions } from "./provider";
export type { ExportStats } from "./processor";
export { LiveSpan, type EndOptions, type SpanStatus } from "./span";
export {
  trace,
  startSpan,
  withSpan,
  getCurrentActiveSpan,
  updateCurrentTrace,
  getLastActiveTraceId,
  type SpanOptions,
  type TraceOptions,
} from "./fluent";
export { getTracingContextHeadersForHttpRequest, withTracingContext } from "./propagation";
export { LlmledgerClient, LlmledgerClient as MlflowClient, type Trace, type TraceInfo, type TraceSpan, type SearchOptions } from "./client";
export { computeCost, costFromPrice, MissingPriceError, type Cost, type CostDict, type PriceModifiers } from "./pricing/cost";
export {
  getPrice,
  catalogInfo,
  setPrice,
  setAzureDeployment,
  loadOverrides,
  clearOverrides,
  type ModelPrice,
  type SetPriceOptions,
  type At,
} from "./pricing/catalog";
export { PricingConfigError, type PriceValue } from "./pricing/overrides";
export { normalizeUsage, anthropicUsage, type TokenUsage } from "./usage";
export { tracedOpenAI } from "./integrations/openai";
export { tracedAnthropic } from "./integrations/anthropic";
export {
  budget,
  setBudget,
  clearBudgets,
  Budget,
  WindowBudget,
  BudgetExceeded,
  type BudgetOptions,
  type WindowBudgetOptions,
  type OnExceed,
  type Period,
} from "./budgets";
