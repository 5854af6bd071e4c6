/** Exact money: amounts are BigInt units of 10^-scale USD (as llmledger/pricing/money.py).
 * A catalog number is read by its shortest decimal form (String(x) in JS, repr in Python:
 * the same digits), so 1.5e-7 is exactly 15 * 10^-8. */

export interface Dec {
  /** coefficient */
  n: bigint;
  /** value = n * 10^e */
  e: number;
}

export const SCALE = 15;

export function parseDecimal(value: number | string): Dec {
  const text = typeof value === "number" ? String(value) : value.trim();
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new Error(`not a decimal number: ${text}`);
  const frac = m[3] ?? "";
  const n = BigInt(`${m[1]}${m[2] || "0"}${frac}`);
  return { n, e: Number(m[4] ?? 0) - frac.length };
}

export function pow10(k: number): bigint {
  return 10n ** BigInt(k);
}

/** The smallest scale >= SCALE at which every value is a whole number of units. */
export function scaleFor(values: Dec[]): number {
  let k = SCALE;
  for (let { n, e } of values) {
    if (k + e < 0 && n % pow10(-(k + e)) !== 0n) {
      while (n % 10n === 0n) {
        n /= 10n;
        e += 1;
      }
      k = -e;
    }
  }
  return k;
}

export function toUnits(d: Dec, k: number): bigint {
  const shift = k + d.e;
  return shift >= 0 ? d.n * pow10(shift) : d.n / pow10(-shift);
}

/** The double nearest to units * 10^-k (JS parses decimal strings with correct rounding). */
export function unitsToNumber(units: bigint, k: number): number {
  return Number(`${units}e-${k}`);
}

/** Plain decimal notation without trailing zeros: (25800000000n, 15) -> "0.0000258". */
export function unitsToString(units: bigint, k: number): string {
  if (units < 0n) return "-" + unitsToString(-units, k);
  if (units === 0n) return "0";
  const digits = units.toString();
  if (k === 0) return digits;
  if (digits.length > k) {
    const head = digits.slice(0, -k);
    const tail = digits.slice(-k).replace(/0+$/, "");
    return tail ? `${head}.${tail}` : head;
  }
  return "0." + "0".repeat(k - digits.length) + digits.replace(/0+$/, "");
}

export function decToString(d: Dec): string {
  const k = Math.max(0, -d.e);
  return unitsToString(toUnits(d, k), k);
}

export const ZERO: Dec = { n: 0n, e: 0 };

/** a + b, exactly. */
export function addDec(a: Dec, b: Dec): Dec {
  const e = Math.min(a.e, b.e);
  return { n: a.n * pow10(a.e - e) + b.n * pow10(b.e - e), e };
}

/** -1, 0 or 1 as a <, =, > b. */
export function cmpDec(a: Dec, b: Dec): number {
  const e = Math.min(a.e, b.e);
  const x = a.n * pow10(a.e - e);
  const y = b.n * pow10(b.e - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The double nearest to the exact value. */
export function decToNumber(d: Dec): number {
  return Number(`${d.n}e${d.e}`);
}
