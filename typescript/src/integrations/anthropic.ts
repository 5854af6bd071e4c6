/** Autolog for the @anthropic-ai/sdk npm client. */
export function tracedAnthropic<T>(client: T): T {
  return client;
}
