// Every statement a wrapped instance compiles, with the scope it was compiled for, published on
// one diagnostics_channel for development checks (the test suite's Citus router check reads it).
// Nothing is built unless someone subscribes: callers test `queryChannel.hasSubscribers` first.
import diagnostics_channel from 'node:diagnostics_channel';
import type { ScopeState } from '../scope-state';
import type { TablePolicy } from '../table-paths';
import type { CompileRun } from './compile-run';
import { type ClientLike, isBuilder, isRaw, type RawLike } from './knex-internals';
import { isTrustedRaw } from './raw/trust';
import type { TableMatcher } from './table-names';

/** Not part of the public API: the message may change with the checks that read it. */
export const QUERY_CHANNEL = 'knex-scopes:query';

export const queryChannel = diagnostics_channel.channel(QUERY_CHANNEL);

export interface QueryMessage {
  /** The statement as the driver receives it (Knex's positionBindings applied: `$1` on PostgreSQL). */
  readonly sql: string;
  readonly bindings: readonly unknown[];
  /** `client.dialect`: `postgresql`, `mysql`, `sqlite3`, … */
  readonly dialect: string;
  /** `builder` for what the query builder compiled, `raw` for a raw statement sent as it is. */
  readonly source: 'builder' | 'raw';
  /** The scope the statement was compiled for; undefined outside any scope (or when unresolvable). */
  readonly state: ScopeState | undefined;
  /** A raw vouched for with trustRaw() went into the statement as written. */
  readonly trustedRaw: boolean;
  readonly mode: 'enforce' | 'report';
  /** The instance's `colocateJoins` option (its SQL is meant for Citus). */
  readonly colocateJoins: boolean;
  /** The declared tables of the wrapped instance. */
  readonly tables: ReadonlyMap<string, TablePolicy>;
  /** The declared table a name of the SQL means (after the app's identifier mapping), if any. */
  readonly tableOf: (sqlName: string) => TablePolicy | undefined;
  /** A declared column as the SQL spells it, folded to lower case. */
  readonly sqlColumn: (declared: string) => string;
}

interface Compiled {
  sql?: unknown;
  bindings?: unknown;
}

type PositioningClient = ClientLike & {
  positionBindings?(sql: string): string;
  prepBindings?(bindings: unknown[]): unknown[];
};

function namesOf(
  matcher: TableMatcher,
): Pick<QueryMessage, 'tableOf' | 'sqlColumn'> & { readonly matcher: TableMatcher } {
  return {
    matcher,
    tableOf: (name) => matcher.matchSqlName(name),
    sqlColumn: (declared) => matcher.normalize(declared),
  };
}

const described = new WeakMap<TableMatcher, ReturnType<typeof namesOf>>();

function send(
  client: PositioningClient,
  compiled: Compiled,
  fields: Omit<QueryMessage, 'sql' | 'bindings' | 'dialect' | 'tableOf' | 'sqlColumn'> & { matcher: TableMatcher },
): void {
  if (typeof compiled.sql !== 'string' || compiled.sql === '') return;
  const bindings = Array.isArray(compiled.bindings) ? compiled.bindings : [];
  let names = described.get(fields.matcher);
  if (!names) {
    names = namesOf(fields.matcher);
    described.set(fields.matcher, names);
  }
  const message: QueryMessage = {
    sql: client.positionBindings ? client.positionBindings(compiled.sql) : compiled.sql,
    bindings: client.prepBindings ? client.prepBindings(bindings) : bindings,
    dialect: client.dialect,
    source: fields.source,
    state: fields.state,
    trustedRaw: fields.trustedRaw,
    mode: fields.mode,
    colocateJoins: fields.colocateJoins,
    tables: fields.tables,
    tableOf: names.tableOf,
    sqlColumn: names.sqlColumn,
  };
  queryChannel.publish(message);
}

function stateOf(run: CompileRun): ScopeState | undefined {
  try {
    return run.state();
  } catch {
    return undefined; // a scope mismatch: the query touched no scoped table, or was refused
  }
}

/** Publishes what one top-level compile produced (`compiler` is the builder or its compiler). */
export function publishCompiled(run: CompileRun, compiler: unknown, query: unknown): void {
  const client = (compiler as { client?: PositioningClient } | null)?.client;
  if (!client) return;
  const { policy } = run;
  const fields = {
    source: 'builder' as const,
    state: stateOf(run),
    trustedRaw: run.trustedRaw === true,
    mode: policy.mode,
    colocateJoins: policy.colocateJoins !== undefined,
    tables: policy.policies,
    matcher: policy.matcher,
  };
  for (const compiled of Array.isArray(query) ? query : [query]) {
    if (typeof compiled === 'object' && compiled !== null) send(client, compiled as Compiled, fields);
  }
}

/** True when a raw's bindings hold only values: compiling it then compiles nothing scoped. */
function valuesOnly(raw: RawLike): boolean {
  const { bindings } = raw;
  if (bindings === undefined || bindings === null) return true;
  const values = Array.isArray(bindings) ? bindings : typeof bindings === 'object' ? Object.values(bindings) : [];
  return values.every((v) => typeof v !== 'function' && !isRaw(v) && !isBuilder(v));
}

/**
 * Publishes a raw statement the wrapped instance sends (`db.raw(…)`), in the ambient scope. One
 * with builders or raws among its bindings is left out: compiling it here would compile them a
 * second time (their own compiles publish them).
 */
export function publishRaw(
  client: ClientLike,
  raw: RawLike,
  policy: CompileRun['policy'],
  state: ScopeState | undefined,
): void {
  if (!valuesOnly(raw)) return;
  let compiled: Compiled | undefined;
  try {
    compiled = (raw as RawLike & { toSQL?(): Compiled }).toSQL?.();
  } catch {
    return; // Knex throws the same error when it runs the statement
  }
  if (!compiled) return;
  send(client as PositioningClient, compiled, {
    source: 'raw',
    state,
    trustedRaw: isTrustedRaw(raw),
    mode: policy.mode,
    colocateJoins: policy.colocateJoins !== undefined,
    tables: policy.policies,
    matcher: policy.matcher,
  });
}
