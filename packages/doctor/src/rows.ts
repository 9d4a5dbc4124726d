// Reading catalog rows, whose shape each driver decides, without trusting it.

export type Row = Readonly<Record<string, unknown>>;

export function rowsOf(result: unknown): Row[] {
  // pg answers { rows }, mysql2 [rows, fields], SQLite the rows themselves.
  if (Array.isArray(result)) {
    const first: unknown = result[0];
    if (result.length === 2 && Array.isArray(first) && Array.isArray(result[1])) return first as Row[];
    return result as Row[];
  }
  if (typeof result === 'object' && result !== null && Array.isArray((result as { rows?: unknown }).rows)) {
    return (result as { rows: Row[] }).rows;
  }
  throw new Error(`unexpected result from the database driver: ${typeof result}`);
}

export function text(row: Row, key: string): string {
  const value = row[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new Error(`catalog row has no text in "${key}": ${JSON.stringify(row)}`);
}

export function optionalText(row: Row, key: string): string | null {
  const value = row[key];
  return value === null || value === undefined ? null : text(row, key);
}

/** `true`, `1`, `'1'`, `'YES'`, `'t'` (the drivers and catalogs spell booleans differently). */
export function flag(row: Row, key: string): boolean {
  const value = row[key];
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0;
  if (typeof value === 'string') return ['1', 'yes', 'y', 't', 'true'].includes(value.toLowerCase());
  return false;
}

export function num(row: Row, key: string): number {
  const value = Number(row[key]);
  if (!Number.isFinite(value)) throw new Error(`catalog row has no number in "${key}": ${JSON.stringify(row)}`);
  return value;
}

export function textArray(row: Row, key: string): (string | null)[] {
  const value = row[key];
  if (!Array.isArray(value)) throw new Error(`catalog row has no array in "${key}": ${JSON.stringify(row)}`);
  return value.map((v: unknown) => (v === null ? null : String(v)));
}

/** Groups rows by a key, keeping first-seen order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
