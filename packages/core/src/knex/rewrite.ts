// The rewrite of one builder, just for one compile: which scoped tables it references, the
// filters each reference needs, and where they go (WHERE, the ON clause, or the outer-join forms
// of outer-joins.ts); writes are checked by write-guards.ts.
import { ScopeError } from '../errors';
import { ALL, type ScopeValue } from '../scope-values';
import type { DimensionRule, TablePolicy } from '../table-paths';
import { INTERNAL_WRAPPER, ONLY_DIMENSIONS } from './builder-symbols';
import { colocateJoins } from './colocated-joins';
import type { CompileRun } from './compile-run';
import { compilerQuirks, lateBoundSources } from './compiler-quirks';
import { impliedFilters } from './implied-filters';
import { type BuilderLike, isRaw, type JoinClauseLike } from './knex-internals';
import { type PlacedPath, pathWriteJoins } from './mysql-path-writes';
import { canKeepTables, derivedTable, keepTableFilters, usesUsing } from './outer-joins';
import { canJoinPaths, isDeepPath, pathJoin } from './path-joins';
import { addOnClauses, type Placement, replaceJoinTable } from './placement';
import {
  type Filter,
  filtersFirst,
  isEmptyList,
  onPredicate,
  type PathSubquery,
  type Rewrite,
  wherePredicate,
} from './predicates';
import { checkRaw, type RawFinding } from './raw/check-raw';
import { rewritePlainRead } from './rewrite-plain-read';
import { enforcing, missingScope, refuseRawFindings, unsupported } from './scope-refusals';
import { plainScan, scanTableRefs, type TableRef } from './table-refs';
import { walkBuilder } from './walk';
import {
  guardAssignments,
  guardInsert,
  isColumnList,
  isJoinRef,
  isPlainRecord,
  mergeTenantFromExcluded,
  rowKeysOf,
} from './write-guards';

export type { Rewrite } from './predicates';

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
  refuseDottedAliases(scan.refs, run);
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
  // A DELETE whose joins this release binds after its WHERE (compiler-quirks.ts): an inner
  // join's filters go to the WHERE, where they mean the same, and bind in order.
  const joinFiltersInWhere = method === 'del' && compilerQuirks(client).deleteJoinBindingsLate;
  const isWrite = method === 'update' || method === 'del' || method === 'insert' || method === 'truncate';
  // MySQL refuses a DELETE/UPDATE whose subqueries read its target table, unless they are
  // materialised: path filters inside such a write are. Materialising builds the tenant's whole
  // parent set (up to 281x a hand-written write, bench:sql), so a single-table write's own path
  // filter is left plain when its path never reads the written table; joins, `using`, CTEs and
  // nested subqueries keep the materialised form.
  const materializeWrites = dialect === 'mysql' && (run.topMethod === 'del' || run.topMethod === 'update');
  const plainTarget =
    materializeWrites &&
    builder === run.statement &&
    !scan.joined &&
    scan.cteNames === undefined &&
    scan.refs.length === 1
      ? scan.refs[0]?.policy.table
      : undefined;
  let placedPaths: PlacedPath[] | undefined; // a one-table MySQL write's, for mysql-path-writes.ts
  const pathSubquery: PathSubquery = (c, f, schema) => {
    const materialized =
      materializeWrites && (plainTarget === undefined || pathReads(run.policy.policies, f.rule, plainTarget));
    const value = run.policy.paths.subquery(c, f, schema, materialized);
    if (plainTarget !== undefined) placedPaths = [...(placedPaths ?? []), { filter: f, value, materialized }];
    return value;
  };
  const rightOrFull = scan.rightOrFull;
  // PostgreSQL keeps the tables of a right/full join (presence-aware predicates): a derived table
  // would hide its primary key, and `group by t.id` on `select t.*` would stop being valid
  // With colocateJoins (Citus), not under a full join: only a derived table pins each side there
  const keepTables =
    rightOrFull &&
    dialect === 'postgresql' &&
    !isWrite &&
    !(run.policy.colocateJoins && hasFullJoin(builder)) &&
    canKeepTables(builder, scan.refs);
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
  // A read's path filters that its inner joins imply are left out (implied-filters.ts): read
  // first, every reference's filters, as the loop below would.
  const pre =
    scan.joined && !rightOrFull && scan.refs.length > 1 && isRead(method)
      ? scan.refs.map((ref) => filtersFor(run, ref.policy, ref.site.kind === 'from' ? only : undefined))
      : undefined;
  const implied = pre && impliedFilters(builder, scan.refs, pre, frozenJoins);
  let joinPaths: boolean | undefined;
  let pathJoins = 0;
  for (let r = 0; r < scan.refs.length; r++) {
    const ref = scan.refs[r] as TableRef;
    const isBase = ref.site.kind === 'from';
    if (method === 'truncate' || method === 'upsert') {
      // truncate empties every tenant's rows; REPLACE / UPSERT replaces a conflicting row whoever owns it
      const what =
        method === 'truncate' ? 'truncate()' : 'upsert() (REPLACE INTO / UPSERT replaces rows of any tenant)';
      if (enforcing(run)) run.refuse(unsupported(ref.policy.table, what));
      else run.bypass('scopes-disabled', ref.policy.table);
      continue;
    }
    let filters = pre ? pre[r] : filtersFor(run, ref.policy, isBase ? only : undefined);
    if (implied && filters) filters = filters.filter((f) => !implied.has(f));
    if (isBase && method === 'insert') {
      placement.single = guardInsert(run, placement.single, ref, filters, dialect);
      const merge = single.merge as { updates?: unknown } | undefined;
      // merge values are an UPDATE of those columns; merge() of the inserted columns was checked above
      if (merge && isPlainRecord(merge.updates)) guardAssignments(run, merge.updates, undefined, ref, filters);
      else if (merge && filters && !isColumnList(merge.updates)) {
        run.refuse(unsupported(ref.policy.table, 'merge() with values that are not an object of column → value'));
      }
      if (!filters || filters.length === 0 || !merge) continue;
      if (dialect === 'postgresql' && isPlainRecord(merge.updates)) {
        const updates = mergeTenantFromExcluded(run, merge.updates, placement.single.insert, filters, (column) =>
          client.raw('??', [`excluded.${column}`]),
        );
        if (updates) placement.single = { ...placement.single, merge: { ...merge, updates } };
      }
      const rows = Array.isArray(single.insert) ? single.insert.length : 1;
      const quirks = compilerQuirks(client);
      if (rows === 1 ? quirks.oneRowMergeWhereDropped : quirks.manyRowsMergeWhereDropped) {
        run.refuse(
          unsupported(
            ref.policy.table,
            `onConflict().merge() of ${rows === 1 ? 'a row' : `${rows} rows at once`} (this Knex release compiles it ` +
              "without the WHERE that keeps other tenants' rows out of its DO UPDATE, knex#6185, fixed in Knex 3.3.0; " +
              'upsert one row per query, or upgrade Knex)',
          ),
        );
        continue;
      }
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
    } else if (
      site.kind === 'join' &&
      !isPgDelete &&
      site.join.joinType !== 'cross' &&
      !usesUsing(site.join) &&
      !(joinFiltersInWhere && site.join.joinType === 'inner')
    ) {
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
      for (const f of filters) {
        // the FROM table's deep paths as joins, on PostgreSQL (path-joins.ts); a join statement
        // among the filters is compiled as the first join, ahead of the app's
        if (site.kind !== 'join' && f.rule.kind === 'path' && isDeepPath(run.policy.policies, f.rule)) {
          joinPaths ??= canJoinPaths(builder, run.statement === builder);
          const table =
            joinPaths && !isEmptyList(f.value) ? pathJoinTable(run, client, f, ref, ++pathJoins) : undefined;
          if (table !== undefined) {
            placement.where.push(pathJoin(table, `ks_path_${pathJoins}`, ref.qualifier, f.rule.column));
            continue;
          }
        }
        placement.where.push(wherePredicate(client, qualifier, ref.schema, f, pathSubquery));
      }
    }
  }

  if (run.policy.colocateJoins && scan.joined && !rightOrFull && isRead(method))
    colocateJoins(run, scan.refs, placement);

  const joins = placement.joins;
  const unchanged = placement.where.length === 0 && joins === undefined && placement.single === single;
  const statements = unchanged ? builder._statements : filtersFirst(placement.where, builder._statements, joins, isRaw);
  if (isWrite && enforcing(run)) {
    // bindings this Knex release would collect out of order (compiler-quirks.ts)
    const late = lateBoundSources(client, method, statements, placement.single);
    if (late !== undefined) {
      run.refuse(
        unsupported(
          scan.refs[0]!.policy.table,
          `${late} (this Knex release collects its values out of text order, so one could take the tenant's ` +
            'place: knex#6412, #6438, #6454; join plain tables, or upgrade Knex to 3.3)',
        ),
      );
      return null;
    }
  }
  if (unchanged) return null;
  const rewritten = { statements, single: placement.single };
  // a one-table MySQL write through a path: as joins, which MariaDB plans by key (mysql-path-writes.ts)
  return placedPaths ? pathWriteJoins(builder, scan.refs[0]!, rewritten, placedPaths, run.policy.policies) : rewritten;
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

function hasFullJoin(builder: BuilderLike): boolean {
  return builder._statements.some(
    (s) =>
      s.grouping === 'join' &&
      ((s as JoinClauseLike).joinType === 'full outer' || (s as JoinClauseLike).joinType === 'outer'),
  );
}

/**
 * `pages as public.pages`: Knex quotes the alias as one name ("public.pages") but splits a column
 * on its dots, so `public.pages.tenant_id` (the filter's column, or one in the app's ON clause)
 * names another reference of `pages`, and this one goes unfiltered. No column can name such an
 * alias, so nothing legitimate is lost by refusing it.
 */
function refuseDottedAliases(refs: readonly TableRef[], run: CompileRun): void {
  for (const ref of refs) {
    if (ref.alias === undefined || !ref.alias.includes('.') || !enforcing(run)) continue;
    run.refuse(
      new ScopeError(
        'UNSUPPORTED_QUERY',
        `The alias "${ref.alias}" of the scoped table "${ref.policy.table}" holds a dot: Knex reads a column ` +
          `"${ref.alias}.…" as schema.table.column, which names another table than this alias. Use an alias without dots.`,
        { table: ref.policy.table },
      ),
    );
  }
}

function isRead(method: string): boolean {
  return method === 'select' || method === 'first' || method === 'pluck';
}

/** True when a path filter's subquery reads `table`: its parent, or any parent further up. */
function pathReads(
  policies: ReadonlyMap<string, TablePolicy>,
  rule: { readonly dimension: string; readonly parentTable: string },
  table: string,
): boolean {
  const seen = new Set<string>();
  for (let parent: string | undefined = rule.parentTable; parent !== undefined && !seen.has(parent); ) {
    if (parent === table) return true;
    seen.add(parent);
    const next: DimensionRule | undefined = policies.get(parent)?.rules.find((r) => r.dimension === rule.dimension);
    parent = next?.kind === 'path' ? next.parentTable : undefined;
  }
  return false;
}

function pathJoinTable(run: CompileRun, client: BuilderLike['client'], f: Filter, ref: TableRef, n: number): unknown {
  return run.policy.paths.joinTable(client, f as Filter & { rule: { kind: 'path' } }, ref.schema, `ks_path_${n}`);
}
