// The rewrite of one builder, just for one compile: which scoped tables it references, the
// filters each reference needs, and where they go (WHERE, the ON clause, or a filtered derived
// table), plus the write rules that can be decided without the database.
import { ScopeError } from '../errors';
import { ALL, type ScopeKey, type ScopeValue, scopeValueIncludes } from '../scope-values';
import type { DimensionRule, PathRule, TablePolicy } from '../table-paths';
import { INTERNAL_WRAPPER, ONLY_DIMENSIONS } from './builder-symbols';
import type { CompileRun } from './compile-run';
import {
  type BuilderLike,
  type Clause,
  type ClientLike,
  isBuilder,
  isRaw,
  type JoinClauseLike,
  type SingleLike,
  type Statement,
} from './knex-internals';
import {
  type Filter,
  filtersFirst,
  guardJoinClauses,
  onPredicate,
  type PathSubquery,
  type Rewrite,
  wherePredicate,
} from './predicates';
import { checkRaw, type RawFinding } from './raw/check-raw';
import { isTrustedRaw } from './raw/trust';
import { rewritePlainRead } from './rewrite-plain-read';
import type { TableMatcher } from './table-names';
import { plainScan, scanTableRefs, type TableRef } from './table-refs';
import { walkBuilder } from './walk';

export type { Rewrite } from './predicates';

function missingScope(table: string, dimensions: string[]): ScopeError {
  const dims = dimensions.join(', ');
  return new ScopeError(
    'SCOPE_MISSING',
    `A scope on dimension(s) ${dims} needs to be active for this query. ` +
      `It touches the scoped table "${table}": run it inside scope({ ${dimensions.map((d) => `${d}: …`).join(', ')} }, fn), ` +
      'or lift protection explicitly with scopesDisabled(fn).',
    { dimensions, table },
  );
}

/**
 * The filters one reference needs. `undefined` means none (scopes disabled, ALL, or a report-mode
 * violation that runs unchanged).
 */
function filtersFor(run: CompileRun, policy: TablePolicy, only: readonly string[] | undefined): Filter[] | undefined {
  const state = run.state();
  if (state && !state.enabled) {
    run.bypass('scopes-disabled', policy.table);
    return undefined;
  }
  let missing: string[] | undefined;
  const filters: Filter[] = [];
  const rules = policy.rules;
  // An index loop: for-of over a frozen array is four times slower in V8 (no fast path).
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as DimensionRule;
    if (only && !only.includes(rule.dimension)) continue;
    const value = state?.values[rule.dimension];
    if (value === undefined) {
      missing ??= [];
      missing.push(rule.dimension);
    } else if (value === ALL) run.bypass('all', policy.table);
    else filters.push({ rule, value: value as Exclude<ScopeValue, symbol> });
  }
  if (missing) {
    run.refuse(missingScope(policy.table, missing));
    return undefined;
  }
  return filters;
}

function enforcing(run: CompileRun): boolean {
  const state = run.state();
  return !state || state.enabled;
}

export function refuseRawFindings(run: CompileRun, findings: RawFinding[]): void {
  for (const f of findings) {
    const table = f.table?.table;
    if (f.trusted) {
      if (table !== undefined) run.bypass('trusted-raw', table);
      continue;
    }
    if (!enforcing(run)) {
      if (table !== undefined) run.bypass('scopes-disabled', table);
      continue;
    }
    const hatch = 'Write it with the query builder, or, if it is safe, mark this one raw with trustRaw(db.raw(…)).';
    run.refuse(
      table !== undefined
        ? new ScopeError(
            'RAW_SQL_REFUSED',
            `Raw SQL names the scoped table "${table}", and raw SQL cannot be filtered: "${f.text}". ${hatch}`,
            { table, sql: f.text },
          )
        : new ScopeError(
            'RAW_SQL_REFUSED',
            `Raw SQL refused: it contains ${f.problem ?? 'something that cannot be read'}: "${f.text}". ${hatch}`,
            { sql: f.text },
          ),
    );
  }
}

/**
 * Everything the builder holds, read once: a part the rewrite does not understand is refused,
 * and every raw is read for scoped names and for SQL that could escape its slot.
 */
function inspectParts(builder: BuilderLike, run: CompileRun): Map<number, JoinClauseLike> | undefined {
  const walked = walkBuilder(builder);
  if (walked.unknown !== undefined && enforcing(run)) {
    run.refuse(
      new ScopeError(
        'UNSUPPORTED_QUERY',
        `This query holds ${walked.unknown}, which knex-scopes does not know how to check, so it is refused ` +
          'rather than sent unchecked. Write it with the supported builder methods (docs/isolation.md), or run it ' +
          'inside scopesDisabled() if it touches no scoped table.',
      ),
    );
  }
  if (walked.raws.length > 0) {
    const findings: RawFinding[] = [];
    for (const raw of walked.raws) checkRaw(raw, true, builder.client, run.policy.matcher, findings);
    if (findings.length > 0) refuseRawFindings(run, findings);
  }
  return walked.frozenJoins;
}

function unsupported(table: string, what: string): ScopeError {
  return new ScopeError(
    'UNSUPPORTED_QUERY',
    `${what} on the scoped table "${table}" is refused while scopes are enforced.`,
    {
      table,
    },
  );
}

function crossScope(table: string, column: string, dimension: string, message: string): ScopeError {
  return new ScopeError('CROSS_SCOPE_WRITE', `Write to "${table}" refused: ${message}`, {
    table,
    column,
    dimensions: [dimension],
  });
}

// MariaDB/MySQL merge derived tables into the outer query, and then hit server bugs (missing
// rows after a merge) and restrictions (reading a DELETE's target table): a LIMIT keeps a
// derived table materialised there.
const NO_MERGE_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * A filtered derived table standing in for a reference: `(select * from t) as alias`, filtered
 * when it is compiled. In Knex's object form the alias is the object key, so none is set here.
 */
function derivedTable(run: CompileRun, client: ClientLike, ref: TableRef, aliased: boolean): BuilderLike {
  if (ref.schema && !ref.alias) {
    // the query's own `schema.table.column` references could not reach a derived table
    run.refuse(
      new ScopeError(
        'UNSUPPORTED_QUERY',
        `Give "${ref.schema}.${ref.name}" an alias: under a right/full join or an outer join with USING, a scoped ` +
          'table is replaced by a filtered derived table, which schema-qualified column references cannot reach.',
        { table: ref.policy.table },
      ),
    );
  }
  const sub = client.queryBuilder() as BuilderLike & {
    select(c: string): BuilderLike;
    from(t: string): BuilderLike;
    as(a: string): BuilderLike;
    limit(n: number): BuilderLike;
  };
  sub.select('*');
  sub.from(ref.schema ? `${ref.schema}.${ref.name}` : ref.name);
  if (aliased) sub.as(ref.alias ?? ref.name);
  if (client.dialect === 'mysql') sub.limit(NO_MERGE_LIMIT);
  return sub;
}

interface Placement {
  where: Statement[];
  /** Join statements replaced by index; made at the first join that needs it. */
  joins: Map<number, JoinClauseLike> | undefined;
  /** Joins whose own ON clauses were already made safe to be followed by a filter. */
  guarded: Set<number> | undefined;
  single: SingleLike;
}

function replaceJoinTable(placement: Placement, join: JoinClauseLike, index: number, table: unknown): void {
  placement.joins ??= new Map();
  const joins = placement.joins;
  joins.set(index, {
    grouping: 'join',
    table,
    joinType: join.joinType,
    schema: undefined,
    clauses: (joins.get(index) ?? join).clauses,
  });
}

function addOnClauses(placement: Placement, join: JoinClauseLike, index: number, clauses: Clause[]): void {
  placement.joins ??= new Map();
  const joins = placement.joins;
  const current = joins.get(index) ?? join;
  placement.guarded ??= new Set();
  const own = placement.guarded.has(index) ? current.clauses : guardJoinClauses(current.clauses, isRaw);
  placement.guarded.add(index);
  joins.set(index, { ...copyJoin(current), clauses: [...own, ...clauses] });
}

function copyJoin(join: JoinClauseLike): JoinClauseLike {
  return { grouping: 'join', table: join.table, joinType: join.joinType, schema: join.schema, clauses: join.clauses };
}

/**
 * Rewrites one builder for one compile; `null` when it references no scoped table and has no
 * raw SQL to refuse. Never mutates the builder.
 */
export function rewriteBuilder(builder: BuilderLike, run: CompileRun): Rewrite | null {
  const plainRead = rewritePlainRead(builder, run);
  return plainRead === undefined ? rewriteAnyBuilder(builder, run) : plainRead;
}

/** rewriteBuilder() without the short way for plain reads (the property test compares them). */
export function rewriteAnyBuilder(builder: BuilderLike, run: CompileRun): Rewrite | null {
  const method = builder._method;
  const { matcher } = run.policy;
  const client = builder.client;
  // A builder of names and values only (the common read) has nothing for the walk to find.
  const plain = plainScan(builder, matcher);
  const frozenJoins =
    plain === undefined && (builder as unknown as Record<symbol, unknown>)[INTERNAL_WRAPPER] !== true
      ? inspectParts(builder, run)
      : undefined;
  if (method === 'columnInfo') return null;
  const scan = plain ?? scanTableRefs(builder, matcher);
  if (scan.cteNames) refuseShadowingCtes(scan.cteNames, run);
  if (scan.refs.length === 0) {
    // what compiles must be what was read: join callbacks run once, in the walk
    return frozenJoins
      ? { statements: filtersFirst([], builder._statements, frozenJoins, isRaw), single: builder._single }
      : null;
  }

  const only = (builder as unknown as Record<symbol, readonly string[] | undefined>)[ONLY_DIMENSIONS];
  const single = builder._single;
  const placement: Placement = {
    where: [],
    joins: frozenJoins && new Map(frozenJoins),
    guarded: undefined,
    single,
  };
  const dialect = client.dialect;
  const isPgDelete = method === 'del' && dialect === 'postgresql';
  const isWrite = method === 'update' || method === 'del' || method === 'insert' || method === 'truncate';
  // MySQL refuses a DELETE/UPDATE whose subqueries read its target table, unless they are
  // materialised: path filters inside such a write are.
  const materialize = dialect === 'mysql' && (run.topMethod === 'del' || run.topMethod === 'update');
  const pathSubquery: PathSubquery = (c, f, schema) => run.policy.paths.subquery(c, f, schema, materialize);
  const rightOrFull = scan.rightOrFull;
  // PostgreSQL keeps the tables of a right/full join (presence-aware predicates): a derived table
  // would hide its primary key, and `group by t.id` on `select t.*` would stop being valid
  const keepTables = rightOrFull && dialect === 'postgresql' && !isWrite && canKeepTables(builder, scan.refs);
  // A read from one table that is a whole statement (a run, toSQL(), toString()): its WHERE sees
  // that table's columns and no other (no join, no enclosing query; select aliases do not bind
  // there, and lose to a column in SQLite), so the filter names the bare column, as a hand-written
  // one would: it costs less in Knex's wrapping and in SQLite's statement compiler. Anywhere
  // else a bare name could bind to another table (or, misdeclared, to an outer one): qualified.
  const bare = run.statement === builder && !scan.joined && isRead(method);

  if (rightOrFull && isWrite) {
    run.refuse(unsupported(scan.refs[0]!.policy.table, 'A right or full outer join in a write'));
    return null;
  }
  for (const ref of scan.refs) {
    const isBase = ref.site.kind === 'from';
    if (method === 'truncate' || method === 'upsert') {
      // truncate empties every tenant's rows; REPLACE / UPSERT replaces a conflicting row whoever owns it
      const what =
        method === 'truncate' ? 'truncate()' : 'upsert() (REPLACE INTO / UPSERT replaces rows of any tenant)';
      if (enforcing(run)) run.refuse(unsupported(ref.policy.table, what));
      else run.bypass('scopes-disabled', ref.policy.table);
      continue;
    }
    const filters = filtersFor(run, ref.policy, isBase ? only : undefined);
    if (isBase && method === 'insert') {
      placement.single = guardInsert(run, placement.single, ref, filters, dialect);
      const merge = single.merge as { updates?: unknown } | undefined;
      // merge values are an UPDATE of those columns; merge() of the inserted columns was checked above
      if (merge && isPlainRecord(merge.updates)) guardAssignments(run, merge.updates, undefined, ref, filters);
      else if (merge && filters && !isColumnList(merge.updates)) {
        run.refuse(unsupported(ref.policy.table, 'merge() with values that are not an object of column → value'));
      }
      if (!filters || filters.length === 0 || !merge) continue;
      // an upsert's DO UPDATE must not overwrite another tenant's row
      for (const f of filters) placement.where.push(wherePredicate(client, ref.qualifier, ref.schema, f, pathSubquery));
      continue;
    }
    if (method === 'update' && (isBase || isJoinRef(ref))) {
      // a joined UPDATE (MySQL) may set a joined table's columns too: `set pages.tenant_id = 2`
      guardAssignments(
        run,
        rowKeysOf(single.update, ref, isBase, matcher),
        rowKeysOf(single.counter, ref, isBase, matcher),
        ref,
        filters,
      );
    }
    if (!filters || filters.length === 0) continue;

    const site = ref.site;
    if (keepTables) {
      keepTableFilters(placement, builder, client, ref, filters, pathSubquery);
    } else if (site.kind === 'join' && rightOrFull && !isWrite) {
      replaceJoinTable(
        placement,
        site.join,
        site.index,
        site.key ? { [site.key]: derivedTable(run, client, ref, false) } : derivedTable(run, client, ref, true),
      );
    } else if (site.kind === 'join' && !isPgDelete && site.join.joinType !== 'cross' && !usesUsing(site.join)) {
      addOnClauses(
        placement,
        site.join,
        site.index,
        filters.map((f) => onPredicate(client, ref.qualifier, ref.schema, f, pathSubquery)),
      );
    } else if (site.kind === 'join' && usesUsing(site.join) && site.join.joinType !== 'inner' && !isWrite) {
      replaceJoinTable(placement, site.join, site.index, derivedTable(run, client, ref, true));
    } else if ((site.kind === 'from' || site.kind === 'from-object') && rightOrFull) {
      if (site.kind === 'from')
        placement.single = { ...placement.single, table: derivedTable(run, client, ref, true), schema: undefined };
      else {
        const table = {
          ...(placement.single.table as Record<string, unknown>),
          [site.key]: derivedTable(run, client, ref, false),
        };
        placement.single = { ...placement.single, table };
      }
    } else {
      const qualifier = site.kind === 'from' && bare ? undefined : ref.qualifier;
      for (const f of filters) placement.where.push(wherePredicate(client, qualifier, ref.schema, f, pathSubquery));
    }
  }

  const joins = placement.joins;
  if (placement.where.length === 0 && joins === undefined && placement.single === single) return null;
  const statements = filtersFirst(placement.where, builder._statements, joins, isRaw);
  return { statements, single: placement.single };
}

/**
 * A CTE named like a scoped table would capture the filters' own subqueries (`… in (select
 * pages.id from pages)`), and dialects disagree on what the name means inside its body
 * (SQLite: the CTE itself; PostgreSQL: the table). Refused rather than guessed.
 */
function refuseShadowingCtes(names: readonly string[], run: CompileRun): void {
  for (const name of names) {
    const policy = run.policy.matcher.match(name);
    if (!policy || !enforcing(run)) continue;
    run.refuse(
      new ScopeError(
        'UNSUPPORTED_QUERY',
        `The CTE "${name}" has the name of the scoped table "${policy.table}" and would shadow it. Rename the CTE.`,
        { table: policy.table },
      ),
    );
  }
}

/**
 * The presence-aware form needs an ON clause on every join (no USING, raw or callback-less join)
 * and a whole-row reference for every scoped table (an alias, or an unqualified name).
 */
function canKeepTables(builder: BuilderLike, refs: readonly TableRef[]): boolean {
  for (const s of builder._statements) {
    if (s.grouping !== 'join') continue;
    const join = s as JoinClauseLike;
    if (join.joinType === 'raw' || (join.joinType !== 'cross' && !Array.isArray(join.clauses)) || usesUsing(join))
      return false;
  }
  return refs.every((ref) => ref.alias !== undefined || ref.schema === undefined);
}

/**
 * One scoped table of a query with right or full joins, kept as it is. Its rows outside the scope
 * must act as if absent: they never match (its predicate, or its absence, in the ON clause of its
 * own join and of every outer join after it), and a row they would appear in is dropped (the same
 * in WHERE). `(t.*) is null` is PostgreSQL's test that t is absent from a joined row.
 */
function keepTableFilters(
  placement: Placement,
  builder: BuilderLike,
  client: ClientLike,
  ref: TableRef,
  filters: Filter[],
  pathSubquery: PathSubquery,
): void {
  const absent = () => client.raw('(??.*) is null', [ref.qualifier]);
  const onFilters = filters.map((f) => onPredicate(client, ref.qualifier, ref.schema, f, pathSubquery));
  const whereFilters = filters.map((f) => wherePredicate(client, ref.qualifier, ref.schema, f, pathSubquery));
  placement.where.push({
    grouping: 'where',
    type: 'whereWrapped',
    value: function (this: { _statements: Statement[] }) {
      (this as unknown as Record<symbol, unknown>)[INTERNAL_WRAPPER] = true;
      this._statements.push(
        { grouping: 'where', type: 'whereWrapped', value: internalGroup(whereFilters), not: false, bool: 'and' },
        { grouping: 'where', type: 'whereRaw', value: absent(), not: false, bool: 'or' },
      );
    },
    not: false,
    bool: 'and',
  });
  const from = ref.site.kind === 'join' ? ref.site.index : -1;
  const statements = builder._statements;
  for (let i = Math.max(from, 0); i < statements.length; i++) {
    const join = statements[i] as JoinClauseLike;
    if (join.grouping !== 'join' || join.joinType === 'cross') continue;
    const clause: Clause = {
      type: 'onWrapped',
      value: function (this: { clauses: Clause[] }) {
        this.clauses.push(
          { type: 'onWrapped', value: clausesGroup(onFilters), bool: 'and' },
          { type: 'onRaw', value: absent(), bool: 'or' },
        );
      },
      bool: 'and',
    };
    addOnClauses(placement, join, i, [clause]);
  }
}

function internalGroup(statements: Statement[]): (this: { _statements: Statement[] }) => void {
  return function (this: { _statements: Statement[] }) {
    (this as unknown as Record<symbol, unknown>)[INTERNAL_WRAPPER] = true;
    for (const s of statements) this._statements.push(s);
  };
}

function clausesGroup(clauses: Clause[]): (this: { clauses: Clause[] }) => void {
  return function (this: { clauses: Clause[] }) {
    for (const c of clauses) this.clauses.push(c);
  };
}

function isRead(method: string): boolean {
  return method === 'select' || method === 'first' || method === 'pluck';
}

function usesUsing(join: JoinClauseLike): boolean {
  return join.clauses.some((c) => c.type === 'onUsing');
}

/** INSERT into a scoped table: stamp a missing direct column, refuse a foreign or ambiguous one. */
function guardInsert(
  run: CompileRun,
  single: SingleLike,
  ref: TableRef,
  filters: Filter[] | undefined,
  dialect: string,
): SingleLike {
  const table = ref.policy.table;
  if (!filters) return single; // disabled, or a report-mode violation
  if (single.merge && dialect === 'mysql') {
    run.refuse(
      unsupported(
        table,
        'onConflict().merge() (MySQL ON DUPLICATE KEY UPDATE cannot be guarded by a tenant predicate)',
      ),
    );
    return single;
  }
  const data = single.insert;
  if (isBuilder(data) || typeof data === 'function') {
    run.refuse(unsupported(table, 'INSERT … SELECT'));
    return single;
  }
  if (data === undefined) return single;
  const rows: unknown[] = Array.isArray(data) ? data : [data];
  for (const row of rows) {
    if (isPlainRecord(row)) {
      refuseDuplicateColumns(run, table, row, ref);
      continue;
    }
    // a raw body (`insert(db.raw('(cols) values (…)'))`) or a raw row cannot be stamped or checked
    if (isRaw(row) && isTrustedRaw(row)) {
      run.bypass('trusted-raw', table);
      continue;
    }
    run.refuse(
      new ScopeError(
        isRaw(row) ? 'RAW_SQL_REFUSED' : 'UNSUPPORTED_QUERY',
        `Insert into "${table}" refused: ${isRaw(row) ? 'a raw INSERT body' : `a row that is a ${typeof row}, not an object,`} ` +
          'cannot be stamped with the tenant or checked. Insert objects of column → value, or mark a raw you vouch for with trustRaw().',
        isRaw(row) ? { table, sql: row.sql } : { table },
      ),
    );
    return single;
  }
  for (const f of filters) {
    if (f.rule.kind !== 'path') continue;
    const rule = f.rule;
    const values = rows.map((row: unknown) => {
      if (typeof row !== 'object' || row === null) return undefined;
      const key = findKey(run, row as Record<string, unknown>, rule.column);
      return key === undefined ? undefined : (row as Record<string, unknown>)[key];
    });
    requireParents(run, table, rule, ref.schema, values);
  }
  const direct = filters.filter((f) => f.rule.kind === 'direct');
  // ALL on a dimension leaves no filter for it: with no key to stamp, the value must be given
  const lifted = ref.policy.rules.filter(
    (rule) => rule.kind === 'direct' && !filters.some((f) => f.rule.dimension === rule.dimension),
  );
  if (direct.length === 0 && lifted.length === 0) return single;
  const out = rows.map((row: unknown) => {
    if (typeof row !== 'object' || row === null || isRaw(row)) return row;
    const copy: Record<string, unknown> = { ...(row as Record<string, unknown>) };
    for (const f of direct) {
      if (f.rule.kind === 'direct' && f.rule.ownKey && findKey(run, copy, f.rule.column) === undefined) {
        refuseNewOwner(run, table, f.rule.column, f.rule.dimension);
        continue;
      }
      stampColumn(run, table, copy, f.rule.column, f.rule.dimension, f.value);
    }
    for (const rule of lifted) {
      // under ALL a new owner row may take the key the database generates: every owner is in scope
      if (rule.kind === 'direct' && rule.ownKey) continue;
      if (findKey(run, copy, rule.column) === undefined) {
        run.refuse(
          new ScopeError(
            'AMBIGUOUS_INSERT',
            `Insert into "${table}" refused: the scope on "${rule.dimension}" is ALL, so there is no single value for ` +
              `"${rule.column}". Set "${rule.column}" on every row.`,
            { table, column: rule.column, dimensions: [rule.dimension] },
          ),
        );
      }
    }
    return copy;
  });
  return { ...single, insert: Array.isArray(data) ? out : out[0] };
}

/**
 * A row of the owners' own table (`tenants: { tenant: 'id' }`) without its key, inside a scope of
 * given owners: the database would make a new owner, which no scope of existing ones holds. Never
 * stamped (the key would collide with the current owner's); creating an owner is explicit.
 */
function refuseNewOwner(run: CompileRun, table: string, column: string, dimension: string): void {
  run.refuse(
    new ScopeError(
      'AMBIGUOUS_INSERT',
      `Insert into "${table}" refused: "${column}" is the table's own key, so a row without it would create a new ` +
        `"${dimension}" outside the active scope. Create it with scope({ ${dimension}: ALL }, fn) or inside ` +
        `scopesDisabled(fn), or give "${column}" a value inside the scope.`,
      { table, column, dimensions: [dimension] },
    ),
  );
}

function findKey(run: CompileRun, row: Record<string, unknown>, column: string): string | undefined {
  for (const key of Object.keys(row)) if (run.policy.matcher.sameColumn(key, column)) return key;
  return undefined;
}

function stampColumn(
  run: CompileRun,
  table: string,
  row: Record<string, unknown>,
  column: string,
  dimension: string,
  value: Exclude<ScopeValue, symbol>,
): void {
  const key = findKey(run, row, column);
  const given = key === undefined ? undefined : row[key];
  if (given === undefined) {
    if (Array.isArray(value)) {
      run.refuse(
        new ScopeError(
          'AMBIGUOUS_INSERT',
          `Insert into "${table}" refused: the scope holds several values for "${dimension}", so there is no single ` +
            `value for "${column}". Set "${column}" on every row, or insert inside a scope with one value.`,
          { table, column, dimensions: [dimension] },
        ),
      );
      return;
    }
    if (key !== undefined) delete row[key];
    row[column] = value;
    return;
  }
  checkWritten(run, table, column, dimension, value, given);
}

function checkWritten(
  run: CompileRun,
  table: string,
  column: string,
  dimension: string,
  value: Exclude<ScopeValue, symbol>,
  given: unknown,
): void {
  if (isRaw(given) && isTrustedRaw(given)) {
    run.bypass('trusted-raw', table); // vouched for: written as it is, unchecked
    return;
  }
  if (isRaw(given) || isBuilder(given) || typeof given === 'function') {
    run.refuse(
      crossScope(
        table,
        column,
        dimension,
        `"${column}" is set to an expression that cannot be checked against the scope (trustRaw() vouches for one).`,
      ),
    );
    return;
  }
  const ok =
    (typeof given === 'string' || typeof given === 'number' || typeof given === 'bigint') &&
    scopeValueIncludes(value, given);
  if (!ok) {
    run.refuse(
      crossScope(
        table,
        column,
        dimension,
        `"${column}" = ${String(given)} is outside the active scope on "${dimension}".`,
      ),
    );
  }
}

/**
 * The keys an FK path column is set to must name parents visible in the scope: collected here,
 * checked by the runner (parent-checks.ts). `null` is left to the column's own nullability.
 */
function requireParents(
  run: CompileRun,
  table: string,
  rule: PathRule,
  schema: string | undefined,
  values: unknown[],
): void {
  const keys: ScopeKey[] = [];
  for (const value of values) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
      keys.push(value);
      continue;
    }
    if (isRaw(value) && isTrustedRaw(value)) {
      run.bypass('trusted-raw', table); // vouched for: not checked against the parent
      continue;
    }
    const what =
      isRaw(value) || isBuilder(value) ? 'an expression that cannot be checked' : `a ${typeof value}, not a key`;
    run.refuse(crossScope(table, rule.column, rule.dimension, `"${rule.column}" is set to ${what}.`));
    return;
  }
  if (keys.length > 0) run.requireParents(table, rule, schema, keys);
}

/**
 * UPDATE values (and an upsert's merge values): a tenant column may only be set to a value inside
 * the scope, an FK path key only to a parent visible in it; neither may be incremented.
 */
function guardAssignments(
  run: CompileRun,
  update: unknown,
  counter: unknown,
  ref: TableRef,
  filters: Filter[] | undefined,
): void {
  if (!filters) return;
  const table = ref.policy.table;
  if (update !== undefined && !isPlainRecord(update)) {
    // Knex reads any other object's own fields as columns (a raw's among them)
    run.refuse(unsupported(table, 'An update with values that are not an object of column → value'));
    return;
  }
  if (isPlainRecord(update)) refuseDuplicateColumns(run, table, update, ref);
  if (isPlainRecord(counter)) refuseDuplicateColumns(run, table, counter, ref);
  for (const f of filters) {
    const column = f.rule.column;
    const key = isPlainRecord(update) ? findKey(run, update, column) : undefined;
    if (key !== undefined && f.rule.kind === 'path') requireParents(run, table, f.rule, ref.schema, [update?.[key]]);
    else if (key !== undefined) checkWritten(run, table, column, f.rule.dimension, f.value, update?.[key]);
    if (isPlainRecord(counter) && findKey(run, counter, column) !== undefined) {
      run.refuse(crossScope(table, column, f.rule.dimension, `"${column}" cannot be incremented or decremented.`));
    }
  }
}

function isJoinRef(ref: TableRef): boolean {
  return ref.site.kind === 'join';
}

/**
 * The keys of written values that belong to one reference: those qualified with its alias or
 * name, and for the base table the unqualified ones too. Anything but a plain object is left
 * whole to the base table, which refuses it.
 */
function rowKeysOf(values: unknown, ref: TableRef, isBase: boolean, matcher: TableMatcher): unknown {
  if (!isPlainRecord(values)) return isBase ? values : undefined;
  let own: Record<string, unknown> | undefined;
  for (const key of Object.keys(values)) {
    // `pages.tenant_id`, `db.pages.tenant_id`: the table is the segment before the column
    const segments = key.split('.');
    const qualifier = segments.length < 2 ? undefined : (segments[segments.length - 2] as string);
    const mine =
      qualifier === undefined
        ? isBase
        : [ref.qualifier, ref.alias, ref.name].some(
            (q) => q !== undefined && matcher.normalize(q) === matcher.normalize(qualifier),
          );
    if (!mine) continue;
    own ??= {};
    own[key] = values[key];
  }
  return own;
}

/** `merge()` / `merge(['title', 'views'])`: the inserted values of those columns. */
function isColumnList(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isRaw(value) || isBuilder(value))
    return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Two keys of one written object that the database takes for the same column (`tenant_id` and
 * `TENANT_ID`; `tenantId` and `tenant_id` under a snake-case mapper): the check would see one, the
 * database apply the other. Refused, whichever column it is.
 */
function refuseDuplicateColumns(run: CompileRun, table: string, row: Record<string, unknown>, ref: TableRef): void {
  const keys = Object.keys(row);
  if (keys.length < 2) return;
  const matcher = run.policy.matcher;
  const seen = new Map<string, string>();
  for (const key of keys) {
    const dot = key.lastIndexOf('.');
    const name = matcher.normalize(dot === -1 ? key : key.slice(dot + 1));
    const other = seen.get(name);
    if (other === undefined) {
      seen.set(name, key);
      continue;
    }
    const rule = ref.policy.rules.find((r) => matcher.normalize(r.column) === name);
    const message = `"${other}" and "${key}" name the same column; write it once.`;
    run.refuse(
      rule
        ? crossScope(table, rule.column, rule.dimension, message)
        : new ScopeError('UNSUPPORTED_QUERY', `Write to "${table}" refused: ${message}`, { table, column: key }),
    );
    return;
  }
}
