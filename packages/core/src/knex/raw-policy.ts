// Raw SQL cannot be filtered, so raw text that names a scoped table in table position is
// refused while enforcing. A heuristic (no SQL parser): see docs for its limits; RLS is the
// backstop. Builders passed as raw bindings are not scanned: they are filtered when compiled.
import { isBuilder, isRaw, type RawLike, type Statement } from './knex-internals';
import type { TableMatcher } from './table-names';

const TRUSTED: unique symbol = Symbol.for('knex-scopes.trustedRaw');

/**
 * The escape hatch for one raw statement or fragment: it is not checked for scoped table
 * names. Greppable on purpose; every use is published as a bypass event when it runs.
 */
export function trustRaw<R extends object>(raw: R): R {
  if (!isRaw(raw)) throw new TypeError('trustRaw() takes a knex.raw(…) value');
  Object.defineProperty(raw, TRUSTED, { value: true, enumerable: false });
  return raw;
}

export function isTrustedRaw(raw: RawLike): boolean {
  return (raw as unknown as Record<symbol, unknown>)[TRUSTED] === true;
}

const TABLE_KEYWORDS = new Set(['from', 'join', 'into', 'update', 'using', 'table']);
// Keywords that end a FROM list (after them a comma no longer separates tables).
const LIST_END = new Set([
  'where',
  'on',
  'join',
  'inner',
  'left',
  'right',
  'full',
  'cross',
  'natural',
  'group',
  'order',
  'limit',
  'having',
  'union',
  'intersect',
  'except',
  'set',
  'values',
  'select',
  'returning',
  'window',
  'offset',
  'for',
  'using',
]);
const TOKEN =
  /'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?\*\/|[A-Za-z_][A-Za-z0-9_$]*|[.,();]|\S/g;

function unquote(token: string): string | undefined {
  const c = token[0];
  if (c === '"' || c === '`') return token.slice(1, -1);
  if (c === '[') return token.slice(1, -1);
  if (c !== undefined && /[A-Za-z_]/.test(c)) return token;
  return undefined;
}

/**
 * Table names a raw SQL text uses in table position: after FROM/JOIN/INTO/UPDATE/USING/TABLE,
 * along comma lists of a FROM, and (for a raw that is itself a table expression) at its start.
 */
export function tablesInSql(sql: string, isTableExpression: boolean): string[] {
  const found: string[] = [];
  const tokens = sql.match(TOKEN) ?? [];
  let expectTable = isTableExpression;
  let inList = isTableExpression;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token.startsWith("'") || token.startsWith('--') || token.startsWith('/*')) continue;
    const lower = token.toLowerCase();
    if (expectTable) {
      const ident = unquote(token);
      if (ident !== undefined && !TABLE_KEYWORDS.has(lower) && lower !== 'only' && lower !== 'lateral') {
        // a qualified name: take the last segment
        let name = ident;
        while (tokens[i + 1] === '.' && tokens[i + 2] !== undefined) {
          const next = unquote(tokens[i + 2] as string);
          if (next === undefined) break;
          name = next;
          i += 2;
        }
        found.push(name);
        expectTable = false;
        continue;
      }
      if (lower === 'only' || lower === 'lateral') continue;
      expectTable = false;
    }
    if (TABLE_KEYWORDS.has(lower) && unquote(token) === token) {
      expectTable = true;
      inList = lower === 'from' || lower === 'using' || lower === 'update';
      continue;
    }
    if (token === ',' && inList) {
      expectTable = true;
      continue;
    }
    if (token === '(' || token === ')' || token === ';' || LIST_END.has(lower)) inList = false;
  }
  return found;
}

/** The raw's text with `??` / `:name:` identifier bindings substituted, so `raw('select * from ??', ['pages'])` is seen. */
function rawText(raw: RawLike): string {
  const sql = typeof raw.sql === 'string' ? raw.sql : '';
  const bindings = raw.bindings;
  if (Array.isArray(bindings)) {
    let index = 0;
    return sql.replace(/\\?\?\??/g, (match) => {
      if (match === '\\?') return match;
      const value = bindings[index++];
      return match === '??' && typeof value === 'string' ? ` ${value} ` : '?';
    });
  }
  if (bindings && typeof bindings === 'object') {
    return sql.replace(/:(\w+):/g, (match, key: string) => {
      const value = (bindings as Record<string, unknown>)[key];
      return typeof value === 'string' ? ` ${value} ` : match;
    });
  }
  return sql;
}

export interface RawFinding {
  readonly raw: RawLike;
  readonly table: string;
  readonly trusted: boolean;
}

/** Scoped tables named by one raw (and the raws among its bindings). */
export function scanRaw(raw: RawLike, isTableExpression: boolean, matcher: TableMatcher, out: RawFinding[]): void {
  if (typeof raw.ref === 'string') return; // knex.ref(): a column reference, handled as a name elsewhere
  const trusted = isTrustedRaw(raw);
  for (const name of tablesInSql(rawText(raw), isTableExpression)) {
    const policy = matcher.match(name);
    if (policy) out.push({ raw, table: policy.table, trusted });
  }
  const bindings = raw.bindings;
  const values = Array.isArray(bindings)
    ? bindings
    : bindings && typeof bindings === 'object'
      ? Object.values(bindings)
      : [];
  for (const value of values) if (isRaw(value) && !isBuilder(value)) scanRaw(value, false, matcher, out);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Raws hide in arrays and plain objects too: select([{ n: raw }]), orderBy([{ column: raw }]).
function scanValue(value: unknown, matcher: TableMatcher, out: RawFinding[], depth = 0): void {
  if (typeof value !== 'object' || value === null) return; // names, values: the common case
  if (isRaw(value)) {
    scanRaw(value, false, matcher, out);
    return;
  }
  if (depth > 3) return;
  if (Array.isArray(value)) for (const v of value) scanValue(v, matcher, out, depth + 1);
  else if (isPlainObject(value)) for (const v of Object.values(value)) scanValue(v, matcher, out, depth + 1);
}

type ClauseLike = { type?: string; value?: unknown; column?: unknown };

// `on(function () { … })` callbacks are run by Knex during the compile, inline: run them on a
// scratch join clause here to see the raws they add.
function scanClauses(
  clauses: readonly ClauseLike[],
  JoinClause: new () => { clauses: ClauseLike[] },
  matcher: TableMatcher,
  out: RawFinding[],
  depth = 0,
): void {
  for (const c of clauses) {
    scanValue(c.value, matcher, out);
    scanValue(c.column, matcher, out);
    if (c.type === 'onWrapped' && typeof c.value === 'function' && depth < 5) {
      const scratch = new JoinClause();
      (c.value as (this: unknown, j: unknown) => void).call(scratch, scratch);
      scanClauses(scratch.clauses, JoinClause, matcher, out, depth + 1);
    }
  }
}

/** Raw fragments anywhere in a builder's own statements (not in nested builders). */
export function scanStatementsForRaw(statements: readonly Statement[], matcher: TableMatcher, out: RawFinding[]): void {
  for (const s of statements) {
    scanValue(s.value, matcher, out);
    scanValue(s.column, matcher, out);
    if (s.grouping === 'join') {
      const clauses = (s as { clauses?: ClauseLike[] }).clauses ?? [];
      scanClauses(clauses, s.constructor as new () => { clauses: ClauseLike[] }, matcher, out);
    }
  }
}

/** Raws among the values an INSERT or UPDATE writes (rows, update values, an upsert's merge). */
export function scanWrittenValuesForRaw(
  single: Record<string, unknown>,
  matcher: TableMatcher,
  out: RawFinding[],
): void {
  scanValue(single.insert, matcher, out);
  scanValue(single.update, matcher, out);
  const merge = single.merge as { updates?: unknown } | undefined;
  if (merge) scanValue(merge.updates, matcher, out);
}
