/** The SDK's process-wide state, kept on globalThis so that it is one whatever copy of the
 * module loaded it. */
import type { BasicTracerProvider } from "./provider";

export interface SdkState {
  provider: BasicTracerProvider | null;
  lastTraceId: string | null;
  /** trace id (tr-...) -> tags set by updateCurrentTrace while the trace is recorded */
  traceTags: Map<string, Record<string, string>>;
}

const KEY = Symbol.for("llmledger.sdk.state");

export function sdkState(): SdkState {
  const g = globalThis as unknown as Record<symbol, SdkState | undefined>;
  let state = g[KEY];
  if (!state) {
    state = { provider: null, lastTraceId: null, traceTags: new Map() };
    g[KEY] = state;
  }
  return state;
}
