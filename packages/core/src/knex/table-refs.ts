// Finding the references to tables in one builder: FROM (string, alias, schema, object form,
// knex.ref), joins, PostgreSQL USING / UPDATE … FROM. Nested builders and callbacks are not
// followed here: they come back through the compiler seam on their own.
import type { TablePolicy } from '../table-paths';
import { QUERY_METHODS, SINGLE_FIELDS, STATEMENT_TYPES } from './classify';
import {
  type BuilderLike,
  isBuilder,
  isRaw,
  type JoinClauseLike,
  type RawLike,
  type Statement,
} from './knex-internals';
import type { TableMatcher } from './table-names';

export type RefSite =
  | { readonly kind: 'from' }
  | { readonly kind: 'from-object'; readonly key: string }
  | { readonly kind: 'join'; readonly index: number; readonly join: JoinClauseLike; readonly key?: string }
  | { readonly kind: 'using' }
  | { readonly kind: 'updateFrom' };

export interface TableRef {
  readonly policy: TablePolicy;
  /** The table name as written. */
  readonly name: string;
  readonly schema: string | undefined;
  readonly alias: string | undefined;
  /** What columns of this reference are qualified with in SQL. */
  readonly qualifier: string;
  readonly site: RefSite;
}

export interface ParsedName {
  readonly name: string;
  readonly schema: string | undefined;
  readonly alias: string | undefined;
}

// A loop rather than two indexOf() calls: names are short, and this runs for every table
// reference of every query (two builtin calls cost more than the whole loop).
export function isBareName(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 32 || c === 46) return false; // ' ', '.'
  }
  return true;
}

// Knex splits an alias on the first case-insensitive " as ", then the name on dots.
export function parseTableName(value: string, schema?: string): ParsedName {
  if (isBareName(value)) return { name: value, schema, alias: undefined };
  const asIndex = value.search(/ as /i);
  const left = (asIndex === -1 ? value : value.slice(0, asIndex)).trim();
  const alias = asIndex === -1 ? undefined : value.slice(asIndex + 4).trim() || undefined;
  const dot = left.lastIndexOf('.');
  if (dot === -1) return { name: left, schema, alias };
  return { name: left.slice(dot + 1).trim(), schema: left.slice(0, dot).trim() || schema, alias };
}

function qualifierOf(parsed: ParsedName): string {
  if (parsed.alias) return parsed.alias;
  return parsed.schema ? `${parsed.schema}.${parsed.name}` : parsed.name;
}

function isRef(value: unknown): value is RawLike & { ref: string } {
  return isRaw(value) && typeof value.ref === 'string';
}

/** A table expression that is a name (string or knex.ref), parsed; anything else undefined. */
function nameOf(table: unknown, schema: string | undefined): ParsedName | undefined {
  if (typeof table === 'string') return parseTableName(table, schema);
  if (isRef(table)) {
    const parsed = parseTableName(table.ref, table._schema ?? schema);
    return table._alias ? { ...parsed, alias: table._alias } : parsed;
  }
  return undefined;
}

/**
 * What a FROM or join table named by a string or knex.ref is qualified with; else `undefined`,
 * and for a dotted alias (`t as a.b`: one name to the SQL, three to a column string).
 */
export function qualifierOfTable(table: unknown, schema: string | undefined): string | undefined {
  const parsed = nameOf(table, schema);
  return parsed && !parsed.alias?.includes('.') ? qualifierOf(parsed) : undefined;
}

export interface RefScan {
  readonly refs: TableRef[];
  /** A right or full outer join: its scoped tables are replaced by filtered derived tables. */
  rightOrFull: boolean;
  /** The names of the builder's CTEs (`with`), if any. */
  cteNames: string[] | undefined;
  /** Any join at all, of a scoped table or not (raw and cross joins too). */
  joined: boolean;
}

const OUTER_JOINS_KEEPING_RIGHT = new Set(['right', 'right outer', 'full outer', 'outer']);

type SiteKind = 'from' | 'join' | 'using' | 'updateFrom';

// Sites without fields are shared: one is needed per scoped reference of every query.
const SITES = { from: { kind: 'from' }, using: { kind: 'using' }, updateFrom: { kind: 'updateFrom' } } as const;

function siteOf(kind: SiteKind, key: string | undefined, join: JoinClauseLike | undefined, index: number): RefSite {
  if (kind === 'join') return key === undefined ? { kind, index, join: join! } : { kind, index, join: join!, key };
  if (kind === 'from' && key !== undefined) return { kind: 'from-object', key };
  return SITES[kind];
}

function push(
  scan: RefScan,
  matcher: TableMatcher,
  parsed: ParsedName,
  kind: SiteKind,
  key: string | undefined,
  join: JoinClauseLike | undefined,
  index: number,
): void {
  const policy = matcher.match(parsed.name);
  if (!policy) return; // the common case: no allocation for an unscoped table
  scan.refs.push({
    policy,
    name: parsed.name,
    schema: parsed.schema,
    alias: parsed.alias,
    qualifier: qualifierOf(parsed),
    site: siteOf(kind, key, join, index),
  });
}

function scanTable(
  scan: RefScan,
  matcher: TableMatcher,
  table: unknown,
  schema: string | undefined,
  kind: SiteKind,
  join: JoinClauseLike | undefined,
  index: number,
): void {
  const parsed = nameOf(table, schema);
  if (parsed) {
    push(scan, matcher, parsed, kind, undefined, join, index);
    return;
  }
  if (typeof table === 'object' && table !== null && !isBuilder(table)) {
    // `{ p: 'pages', c: 'comments' }`: each entry is an aliased table (several make a comma join)
    for (const [alias, value] of Object.entries(table as Record<string, unknown>)) {
      const inner = nameOf(value, schema);
      if (inner) push(scan, matcher, { ...inner, alias }, kind, alias, join, index);
    }
  }
}

/**
 * Every direct table reference of a builder that names a scoped table, in one pass over its
 * statements (which also notes right/full joins and CTE names).
 */
export function scanTableRefs(builder: BuilderLike, matcher: TableMatcher): RefScan {
  const scan: RefScan = { refs: [], rightOrFull: false, cteNames: undefined, joined: false };
  const single = builder._single;
  const schema = single.schema;
  if (single.table !== undefined) scanTable(scan, matcher, single.table, schema, 'from', undefined, -1);
  const statements = builder._statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping === 'with') {
      if (typeof s.alias === 'string') {
        scan.cteNames ??= [];
        scan.cteNames.push(s.alias);
      }
      continue;
    }
    if (s.grouping !== 'join') continue;
    scan.joined = true;
    const join = s as JoinClauseLike;
    if (OUTER_JOINS_KEEPING_RIGHT.has(join.joinType)) scan.rightOrFull = true;
    if (join.joinType === 'raw') continue; // a raw join is read by the raw reader
    scanTable(scan, matcher, join.table, join.schema, 'join', join, i);
  }
  // PostgreSQL: `del().using(t)` and `update().updateFrom(t)`
  if (single.using !== undefined) scanTables(scan, matcher, single.using, schema, 'using');
  if (single.updateFrom !== undefined) scanTables(scan, matcher, single.updateFrom, schema, 'updateFrom');
  return scan;
}

// A statement's value or column that Knex compiles as names or bindings: no raw SQL, builder or
// object hides in it (a callback is compiled as a nested builder, through the seam).
export function holdsNoObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

/**
 * True when the builder holds only names and values: every statement and `_single` field a
 * string, number or list of them (no raw, builder, callback or object), no join or CTE, and every
 * part classified (classify.ts). The full walk would find nothing in such a builder.
 */
export function holdsOnlyNames(builder: BuilderLike): boolean {
  if (!QUERY_METHODS.has(builder._method)) return false;
  const statements = builder._statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping === 'join' || s.grouping === 'with') return false;
    const types = STATEMENT_TYPES.get(s.grouping);
    if (types === undefined || !types.has(s.type)) return false;
    for (const key in s) if (!holdsNoObject(s[key])) return false;
  }
  const single = builder._single as Record<string, unknown>;
  for (const key in single) {
    const value = single[key];
    if (!SINGLE_FIELDS.has(key)) {
      if (value !== undefined) return false;
    } else if (key !== 'skipBinding' && !holdsNoObject(value)) return false;
  }
  const comments = (builder as unknown as { _comments?: unknown[] })._comments;
  return comments === undefined || comments.length === 0;
}

/**
 * The scan of the most common builder: its FROM one table named by a string, nothing but names
 * and values (holdsOnlyNames), no USING. scanTableRefs() would return exactly this and the walk
 * would find nothing; it takes one short loop instead. `undefined` for any other builder.
 */
export function plainScan(builder: BuilderLike, matcher: TableMatcher): RefScan | undefined {
  const single = builder._single;
  const table = single.table;
  if (typeof table !== 'string' || single.using !== undefined || single.updateFrom !== undefined) return undefined;
  if (!holdsOnlyNames(builder)) return undefined;
  const scan: RefScan = { refs: [], rightOrFull: false, cteNames: undefined, joined: false };
  push(scan, matcher, parseTableName(table, single.schema), 'from', undefined, undefined, -1);
  return scan;
}

function scanTables(
  scan: RefScan,
  matcher: TableMatcher,
  value: unknown,
  schema: string | undefined,
  kind: SiteKind,
): void {
  for (const table of Array.isArray(value) ? value : [value])
    scanTable(scan, matcher, table, schema, kind, undefined, -1);
}
