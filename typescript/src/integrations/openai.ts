/** Autolog for the openai npm client (filled in below). */
export function tracedOpenAI<T>(client: T): T {
  return client;
}
