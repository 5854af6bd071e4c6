/** Attribute values as OpenTelemetry takes them: our JSON keys (usage, cost, inputs,
 * outputs) as JSON text, as the Python SDK and MLflow send them over OTLP; other primitives
 * and homogeneous arrays of primitives as they are; anything else as JSON text. */
import type { AttributeValue } from "@opentelemetry/api";
import { JSON_KEYS } from "./attributes";

const bigintAsText = (_key: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

export function safeJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value); // the fast path: no replacer
  } catch {
    try {
      text = JSON.stringify(value, bigintAsText);
    } catch {
      return String(value); // cycles and the like: kept readable, never thrown
    }
  }
  return text === undefined ? String(value) : text;
}

function primitiveArray(value: unknown[]): boolean {
  if (value.length === 0) return true;
  const kind = typeof value[0];
  if (kind !== "string" && kind !== "number" && kind !== "boolean") return false;
  return value.every((v) => typeof v === kind);
}

export function encodeAttribute(key: string, value: unknown): AttributeValue | undefined {
  if (value === undefined) return undefined;
  if (JSON_KEYS.has(key)) return safeJson(value);
  if (value === null) return "null";
  const kind = typeof value;
  if (kind === "string" || kind === "boolean") return value as string | boolean;
  if (kind === "number") return Number.isFinite(value) ? (value as number) : String(value);
  if (kind === "bigint") return String(value);
  if (Array.isArray(value) && primitiveArray(value)) return value as AttributeValue;
  return safeJson(value);
}
