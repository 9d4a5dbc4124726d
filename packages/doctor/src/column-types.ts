// Whether two column types can hold the same keys. Sizes and signedness are left out: an
// `integer` path key into a `bigint` id is fine, a `varchar` into an `integer` id is not.

export type TypeFamily = string;

export function typeFamily(type: string): TypeFamily {
  const t = type
    .toLowerCase()
    .replace(/\(.*?\)/g, '')
    .replace(/\b(unsigned|signed|zerofill)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (/^(tiny|small|medium|big)?int(eger)?[248]?$|^(small|big)?serial[248]?$/.test(t)) return 'integer';
  if (/^(numeric|decimal|dec|number)$/.test(t)) return 'decimal';
  if (/^(real|float[48]?|double( precision)?)$/.test(t)) return 'float';
  if (t === 'uuid') return 'uuid';
  if (/char|text|clob|string|citext/.test(t)) return 'text';
  if (/blob|bytea|binary/.test(t)) return 'binary';
  if (/^bool(ean)?$/.test(t)) return 'boolean';
  if (/date|time/.test(t)) return 'temporal';
  return t;
}

/** SQLite lets a column have no declared type; such a column is compatible with anything. */
export function sameFamily(a: string, b: string): boolean {
  if (a.trim() === '' || b.trim() === '') return true;
  return typeFamily(a) === typeFamily(b);
}
