// Result comparison: drivers disagree on how numbers come back (count(*) as a string on pg,
// DECIMAL as a string on MariaDB), so values are normalised before rows are compared, as
// multisets unless the query fixes the order of every row.

function canonicalNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(10)));
}

const NUMERIC = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

export function normValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return canonicalNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string') return NUMERIC.test(v) ? canonicalNumber(Number(v)) : JSON.stringify(v);
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

/** One row as a canonical string: columns sorted by name. */
export function normRow(row: Readonly<Record<string, unknown>>): string {
  return Object.keys(row)
    .sort()
    .map((k) => `${k}=${normValue(row[k])}`)
    .join(' ');
}

export interface Difference {
  /** Rows the scoped run returned and the oracle did not (a leak when the query is a plain read). */
  readonly extra: string[];
  readonly missing: string[];
  readonly orderOnly: boolean;
}

/** Multiset difference `a − b` of sorted arrays. */
export function minus(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

export function compareRows(
  scoped: readonly Record<string, unknown>[],
  oracle: readonly Record<string, unknown>[],
  ordered: boolean,
): Difference | undefined {
  const a = scoped.map(normRow);
  const b = oracle.map(normRow);
  const extra = minus(a, b);
  const missing = minus(b, a);
  if (extra.length > 0 || missing.length > 0) return { extra, missing, orderOnly: false };
  if (ordered && a.some((row, i) => row !== b[i])) return { extra: [], missing: [], orderOnly: true };
  return undefined;
}
