/** Span attribute keys: the same wire contract as the Python SDK (llmledger/attributes.py). */

export const SpanAttributeKey = {
  TOKEN_USAGE: "llmledger.chat.tokenUsage",
  COST: "llmledger.llm.cost",
  COST_BREAKDOWN: "llmledger.llm.costBreakdown",
  MODEL: "llmledger.llm.model",
  REQUEST_MODEL: "llmledger.llm.requestModel",
  PROVIDER: "llmledger.llm.provider",
  SERVICE_TIER: "llmledger.llm.serviceTier",
  SPEED: "llmledger.llm.speed",
  INFERENCE_GEO: "llmledger.llm.inferenceGeo",
  PROVIDER_COST: "llmledger.llm.providerCost",
  SPAN_TYPE: "llmledger.spanType",
  INPUTS: "llmledger.spanInputs",
  OUTPUTS: "llmledger.spanOutputs",
} as const;

export const SpanType = {
  LLM: "LLM",
  CHAT_MODEL: "CHAT_MODEL",
  EMBEDDING: "EMBEDDING",
  TOOL: "TOOL",
  CHAIN: "CHAIN",
  AGENT: "AGENT",
  RETRIEVER: "RETRIEVER",
  UNKNOWN: "UNKNOWN",
} as const;
export type SpanTypeName = (typeof SpanType)[keyof typeof SpanType] | string;

const K = SpanAttributeKey;

/** MLflow's keys, accepted as aliases of ours (so the seed's code runs unchanged). */
export const ALIASES: Record<string, string> = {
  "mlflow.chat.tokenUsage": K.TOKEN_USAGE,
  "mlflow.llm.cost": K.COST,
  "mlflow.llm.model": K.MODEL,
  "mlflow.llm.provider": K.PROVIDER,
  "mlflow.spanType": K.SPAN_TYPE,
  "mlflow.spanInputs": K.INPUTS,
  "mlflow.spanOutputs": K.OUTPUTS,
};

/** Keys whose values travel as JSON text on OTLP (the server decodes them). */
export const JSON_KEYS = new Set<string>([K.TOKEN_USAGE, K.COST, K.COST_BREAKDOWN, K.INPUTS, K.OUTPUTS]);

export function canonicalKey(key: string): string {
  return ALIASES[key] ?? key;
}
