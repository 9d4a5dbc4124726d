// What differs between the supported Knex releases in how a dialect compiles the statements the
// rewrite adds to. Each quirk is probed, not read off a version number: a dialect client class
// is compiled a few marker statements at wrap() (version-guard.ts), and where a quirk would
// lose or misplace a tenant predicate, the rewrite refuses that shape (rewrite.ts). The
// releases each is known in are in docs/knex-versions.md.
//
// - mergeWhereDropped: Knex before 3.3.0 compiles a multi-row SQLite upsert (`insert … select
//   … union all select … on conflict … do update`) without its `merge().where()` (knex#6185),
//   the guard that keeps another tenant's conflicting row out of the DO UPDATE.
// - deleteJoinBindingsLate / updateFromBindingsLate: Knex compiles the WHERE of a DELETE with
//   joins (before 3.2.7 in MySQL and SQLite, knex#6412; before 3.3.0 in PostgreSQL's USING
//   form, #6438) and of a PostgreSQL UPDATE … FROM (before 3.3.0, #6454) ahead of the joined or
//   FROM sources the SQL text puts first: when both carry bindings, values land in each other's
//   placeholders, and a value of the app's (a request's) can become the tenant key.
import type { ClientLike, JoinClauseLike, SingleLike, Statement } from './knex-internals';

export interface CompilerQuirks {
  /** `insert({…}).onConflict().merge().where(…)` compiles without the WHERE. */
  readonly oneRowMergeWhereDropped: boolean;
  /** The same with two or more rows. */
  readonly manyRowsMergeWhereDropped: boolean;
  /** A DELETE's WHERE bindings come before those of its joined (or USING) sources. */
  readonly deleteJoinBindingsLate: boolean;
  /** An UPDATE's WHERE bindings come before those of its FROM source (`updateFrom`). */
  readonly updateFromBindingsLate: boolean;
}

// keyed by the prototype of the wrapped client (the dialect's client class, or the app's
// subclass of it): scoped, transaction and savepoint clients inherit from it
const probed = new WeakMap<object, CompilerQuirks>();

// never probed (a client that did not come through wrap()): assume the worst
const UNKNOWN: CompilerQuirks = {
  oneRowMergeWhereDropped: true,
  manyRowsMergeWhereDropped: true,
  deleteJoinBindingsLate: true,
  updateFromBindingsLate: true,
};

// Marker values, told apart in the output by value, which no wrapIdentifier renames.
const MERGED = 7_301_001;
const GUARD = 7_301_002;
const SOURCE = 7_301_003;
const WHERE = 7_301_004;

/** The loose builder the probes call: Knex's typings are not wanted here. */
interface ProbeBuilder {
  from(t: string): ProbeBuilder;
  insert(v: unknown): ProbeBuilder;
  onConflict(c: string): ProbeBuilder;
  merge(v: unknown): ProbeBuilder;
  where(c: string, v: number): ProbeBuilder;
  del(): ProbeBuilder;
  update(v: unknown): ProbeBuilder;
  join(t: unknown, a: string, b: string): ProbeBuilder;
  updateFrom(t: unknown): ProbeBuilder;
  as(a: string): ProbeBuilder;
  toSQL(): { bindings?: readonly unknown[] } | { bindings?: readonly unknown[] }[];
  toString(): string;
}

/** Runs a probe; a dialect that refuses the statement itself (throws) never runs it misbuilt. */
function probe(client: ClientLike, run: (qb: () => ProbeBuilder) => boolean): boolean {
  try {
    return run(() => client.queryBuilder() as unknown as ProbeBuilder);
  } catch {
    return false;
  }
}

/** Whether a guarded upsert of `rows` rows compiles its DO UPDATE (MERGED) but not its WHERE (GUARD). */
function mergeWhereDropped(client: ClientLike, rows: number): boolean {
  return probe(client, (qb) => {
    const row = { knex_scopes_probe_key: 1, knex_scopes_probe_value: 1 };
    const compiled = qb()
      .from('knex_scopes_probe')
      .insert(Array.from({ length: rows }, () => ({ ...row })))
      .onConflict('knex_scopes_probe_key')
      .merge({ knex_scopes_probe_value: MERGED })
      .where('knex_scopes_probe_guard', GUARD)
      .toSQL();
    const bindings = (Array.isArray(compiled) ? compiled : [compiled]).flatMap((q) => q.bindings ?? []);
    return bindings.includes(MERGED) && !bindings.includes(GUARD);
  });
}

/**
 * Whether, with the bindings put in their placeholders in order (toString()), the WHERE's
 * value sits anywhere but in the WHERE: the bindings were collected out of text order.
 */
function whereValueMisplaced(statement: ProbeBuilder): boolean {
  return !new RegExp(`knex_scopes_probe_where\\W*=\\s*'?${WHERE}\\b`).test(statement.toString());
}

function source(qb: () => ProbeBuilder): ProbeBuilder {
  return qb().from('knex_scopes_probe_source').where('knex_scopes_probe_source', SOURCE).as('s');
}

/** Probes the base (unscoped) client of a wrap(); version-guard.ts calls it. */
export function probeCompilerQuirks(client: ClientLike): void {
  const proto = Object.getPrototypeOf(client) as object;
  if (probed.has(proto)) return;
  probed.set(proto, {
    oneRowMergeWhereDropped: mergeWhereDropped(client, 1),
    manyRowsMergeWhereDropped: mergeWhereDropped(client, 2),
    deleteJoinBindingsLate: probe(client, (qb) =>
      whereValueMisplaced(
        qb()
          .from('knex_scopes_probe')
          .del()
          .join(source(qb), 's.a', 'knex_scopes_probe.a')
          .where('knex_scopes_probe_where', WHERE),
      ),
    ),
    updateFromBindingsLate: probe(client, (qb) =>
      whereValueMisplaced(
        qb()
          .from('knex_scopes_probe')
          .update({ knex_scopes_probe_value: 1 })
          .updateFrom(source(qb))
          .where('knex_scopes_probe_where', WHERE),
      ),
    ),
  });
}

/** The quirks of `client`'s dialect compiler, as probed when its Knex instance was wrapped. */
export function compilerQuirks(client: ClientLike): CompilerQuirks {
  for (let p = Object.getPrototypeOf(client) as object | null; p !== null; p = Object.getPrototypeOf(p)) {
    const found = probed.get(p);
    if (found) return found;
  }
  return UNKNOWN;
}

const PLAIN_CLAUSES = new Set(['onBasic', 'onNull', 'onUsing']);

/** A join that compiles without bindings: a table name, ON clauses between columns. */
function joinBindsNothing(join: JoinClauseLike): boolean {
  if (typeof join.table !== 'string') return false;
  return join.clauses.every(
    (c) =>
      PLAIN_CLAUSES.has(c.type) &&
      (c.column === undefined || typeof c.column === 'string') &&
      (c.value === undefined || typeof c.value === 'string'),
  );
}

/**
 * The sources a write compiles after its WHERE on this release, when they may carry bindings
 * (a subquery, a raw, a value in an ON clause, the tenant predicates the rewrite puts there);
 * undefined when the bindings keep their order. `statements` and `single` are as rewritten.
 */
export function lateBoundSources(
  client: ClientLike,
  method: string,
  statements: readonly Statement[],
  single: SingleLike,
): string | undefined {
  if (method === 'del' && compilerQuirks(client).deleteJoinBindingsLate) {
    const joins = statements.filter((s): s is JoinClauseLike => s.grouping === 'join');
    const using = single.using === undefined ? [] : Array.isArray(single.using) ? single.using : [single.using];
    if (joins.some((j) => !joinBindsNothing(j)) || using.some((u) => typeof u !== 'string')) {
      return 'A DELETE joining a subquery, a raw, or a table on values (the tenant predicates included)';
    }
  }
  if (method === 'update' && single.updateFrom !== undefined && typeof single.updateFrom !== 'string') {
    if (compilerQuirks(client).updateFromBindingsLate) return 'An UPDATE … FROM a subquery or a raw';
  }
  return undefined;
}
