// mysql2 (through sql-escaper) writes what a bound value's `toSqlString()` returns into the SQL
// as it is, unescaped: at the top, in a list or a Set it expands, and in the values of an object
// or a Map it writes as `key = value` pairs. `mysql2.raw()` makes such values, and any object can
// carry the method (a typed array, a Date, a record). It is raw SQL that no raw check reads, so a
// query binding one is refused on every dialect (the same code must not leak on MySQL only).

const MAX_DEPTH = 8;

/** Whether `value`, or anything mysql2 would expand out of it, has a `toSqlString()` method. */
export function carriesSqlString(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > MAX_DEPTH) return true; // too deep to tell: as if it did
  let method: unknown;
  try {
    method = (value as { toSqlString?: unknown }).toSqlString;
  } catch {
    return true;
  }
  if (typeof method === 'function') return true;
  if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) if (carriesSqlString(v, depth + 1)) return true;
    return false;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) if (carriesSqlString(k, depth + 1) || carriesSqlString(v, depth + 1)) return true;
    return false;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false; // not expanded by mysql2
  for (const key of Object.keys(value)) {
    if (carriesSqlString((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

export const SQL_STRING_VALUE =
  'a value with a toSqlString() method (mysql2 writes what it returns into the SQL unescaped; pass the SQL as ' +
  'knex.raw(), which is checked, or trustRaw() it)';
