// Finding the references to tables in one builder: FROM (string, alias, schema, object form,
// knex.ref), joins, PostgreSQL USING / UPDATE … FROM. Nested builders and callbacks are not
// followed here: they come back through the compiler seam on their own.
import type { TablePolicy } from '../table-paths';
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

// Knex splits an alias on the first case-insensitive " as ", then the name on dots.
export function parseTableName(value: string, schema?: string): ParsedName {
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

export interface RefScan {
  readonly refs: TableRef[];
  /** Raw table expressions (fromRaw, joinRaw, join(raw)), for the raw policy. */
  readonly rawTables: RawLike[];
}

function push(refs: TableRef[], matcher: TableMatcher, parsed: ParsedName, site: RefSite): void {
  const policy = matcher.match(parsed.name);
  if (!policy) return;
  refs.push({
    policy,
    name: parsed.name,
    schema: parsed.schema,
    alias: parsed.alias,
    qualifier: qualifierOf(parsed),
    site,
  });
}

function scanTable(
  table: unknown,
  schema: string | undefined,
  refs: TableRef[],
  rawTables: RawLike[],
  matcher: TableMatcher,
  site: (key?: string) => RefSite,
): void {
  const parsed = nameOf(table, schema);
  if (parsed) {
    push(refs, matcher, parsed, site());
    return;
  }
  if (isRaw(table)) {
    rawTables.push(table);
    return;
  }
  if (typeof table === 'object' && table !== null && !isBuilder(table)) {
    // `{ p: 'pages', c: 'comments' }`: each entry is an aliased table (several make a comma join)
    for (const [alias, value] of Object.entries(table as Record<string, unknown>)) {
      const inner = nameOf(value, schema);
      if (inner) push(refs, matcher, { ...inner, alias }, site(alias));
      else if (isRaw(value)) rawTables.push(value);
    }
  }
}

/** Every direct table reference of a builder that names a scoped table. */
export function scanTableRefs(builder: BuilderLike, matcher: TableMatcher): RefScan {
  const refs: TableRef[] = [];
  const rawTables: RawLike[] = [];
  const single = builder._single;
  const schema = single.schema;
  if (single.table !== undefined) {
    scanTable(single.table, schema, refs, rawTables, matcher, (key) =>
      key === undefined ? { kind: 'from' } : { kind: 'from-object', key },
    );
  }
  const statements = builder._statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping !== 'join') continue;
    const join = s as JoinClauseLike;
    if (join.joinType === 'raw') {
      if (isRaw(join.table)) rawTables.push(join.table);
      continue;
    }
    scanTable(join.table, join.schema, refs, rawTables, matcher, (key) =>
      key === undefined ? { kind: 'join', index: i, join } : { kind: 'join', index: i, join, key },
    );
  }
  // PostgreSQL: `del().using(t)` and `update().updateFrom(t)`
  for (const [field, kind] of [
    ['using', 'using'],
    ['updateFrom', 'updateFrom'],
  ] as const) {
    const value = single[field];
    if (value === undefined) continue;
    for (const table of Array.isArray(value) ? value : [value]) {
      scanTable(table, schema, refs, rawTables, matcher, () => ({ kind }));
    }
  }
  return { refs, rawTables };
}
