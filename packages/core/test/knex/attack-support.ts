// What the attack suites share: a comparable form of results and snapshots, and the rows an
// attack changed, for their failure messages.

export type Snapshot = Record<string, string[]>;

export const bigints = (_key: string, value: unknown) => (typeof value === 'bigint' ? String(value) : value);

/** Rows out of a builder result or a driver's raw result (pg `{ rows }`, mysql `[rows, fields]`). */
export function rowsOf(result: unknown): unknown {
  if (Array.isArray(result) && Array.isArray(result[0])) return result[0];
  if (
    result &&
    typeof result === 'object' &&
    !Array.isArray(result) &&
    Array.isArray((result as { rows?: unknown }).rows)
  ) {
    return (result as { rows: unknown[] }).rows;
  }
  return result;
}

/** A comparable form of a result: rows as sorted JSON, counts as they are. */
export function norm(result: unknown): unknown {
  const rows = rowsOf(result);
  if (Array.isArray(rows)) return rows.map((r) => JSON.stringify(r, bigints)).sort();
  return JSON.stringify(rows, bigints);
}

export function show(result: unknown): string {
  const text = JSON.stringify(rowsOf(result), bigints) ?? String(result);
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

export function changes(before: Snapshot, after: Snapshot): string {
  const out: string[] = [];
  for (const table of Object.keys(before)) {
    const b = new Set(before[table]);
    const a = new Set(after[table]);
    for (const row of after[table] ?? []) if (!b.has(row)) out.push(`  ${table} + ${row}`);
    for (const row of before[table] ?? []) if (!a.has(row)) out.push(`  ${table} - ${row}`);
  }
  return out.length ? `\nrows changed:\n${out.join('\n')}` : '';
}

/**
 * What a CROSS_SCOPE_WRITE refusal may have sent: the parent check (a SELECT), or the write
 * itself when it carries that check (issue 26: `… where exists (select …)`, `… (select
 * count(distinct …) …) = n`) and so wrote nothing, which the suites prove by comparing snapshots.
 */
export function isParentCheck(sql: string): boolean {
  return (
    /^\s*select\b/i.test(sql) ||
    /^\s*(insert|update)\b[\s\S]* (where|and) (exists \(select |\(select count\(distinct [\s\S]*\) = \d+)/i.test(sql)
  );
}
