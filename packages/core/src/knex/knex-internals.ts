// The shapes of Knex 3 internals that the rewrite reads. Knex does not type them; the version
// guard (version-guard.ts) probes them at wrap() time so a change fails loudly at start-up.
import type { Knex } from 'knex';

export interface RawLike {
  readonly isRawInstance: true;
  sql: string;
  bindings: unknown;
  client: unknown;
  /** Set on `knex.ref(…)` instances. */
  ref?: string;
  _schema?: string | null;
  _alias?: string | null;
}

export interface Statement {
  grouping: string;
  type?: string;
  column?: unknown;
  operator?: unknown;
  value?: unknown;
  bool?: string;
  not?: boolean;
  asColumn?: boolean;
  alias?: unknown;
  [key: string]: unknown;
}

export interface JoinClauseLike extends Statement {
  grouping: 'join';
  table: unknown;
  joinType: string;
  schema?: string | undefined;
  clauses: Clause[];
}

export interface Clause {
  type: string;
  column?: unknown;
  operator?: unknown;
  value?: unknown;
  bool: string;
  not?: boolean;
  [key: string]: unknown;
}

export interface SingleLike {
  table?: unknown;
  schema?: string;
  only?: boolean;
  insert?: unknown;
  update?: unknown;
  counter?: unknown;
  onConflict?: unknown;
  merge?: unknown;
  ignore?: unknown;
  using?: unknown;
  updateFrom?: unknown;
  [key: string]: unknown;
}

export interface BuilderLike {
  client: ClientLike;
  _method: string;
  _single: SingleLike;
  _statements: Statement[];
  _queryContext?: unknown;
  toSQL(): Knex.Sql | Knex.Sql[];
  queryContext(): unknown;
}

export interface CompilerLike {
  toSQL(method?: string, tz?: unknown): unknown;
}

export interface ClientLike {
  dialect: string;
  config: Knex.Config & { wrapIdentifier?: (value: string, origImpl: (v: string) => string, ctx: unknown) => string };
  queryBuilder(): BuilderLike;
  queryCompiler(builder: BuilderLike, bindings?: unknown[]): CompilerLike;
  raw(sql: string, bindings?: unknown): RawLike;
  runner(builder: unknown): { run(): Promise<unknown>; stream?: unknown };
}

/** As Knex tells a raw: any truthy `isRawInstance` (its formatter then calls the object's toSQL). */
export function isRaw(value: unknown): value is RawLike {
  return typeof value === 'object' && value !== null && Boolean((value as { isRawInstance?: unknown }).isRawInstance);
}

// Knex tells a builder by `instanceof QueryBuilder`; the base prototype of every Knex copy we
// wrap is registered here, so an object that only looks like a builder (a request body's
// `{ _statements: [], _single: {} }`) is not taken for one.
const builderBases = new WeakSet<object>();

/** Registers the QueryBuilder base of a real builder: the topmost prototype with its own toSQL and where. */
const registeredProtos = new WeakSet<object>();

export function registerBuilderBaseOf(builder: object): void {
  const own = Object.getPrototypeOf(builder) as object | null;
  if (own === null || registeredProtos.has(own)) return;
  registeredProtos.add(own);
  let base: object | undefined;
  for (let p = Object.getPrototypeOf(builder); p !== null; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, 'toSQL') && Object.hasOwn(p, 'where')) base = p;
  }
  if (base) builderBases.add(base);
}

/** Registers the QueryBuilder base of a client's Knex. */
export function registerBuilderBase(client: ClientLike): void {
  registerBuilderBaseOf(client.queryBuilder());
}

export function isBuilder(value: unknown): value is BuilderLike {
  if (typeof value !== 'object' || value === null) return false;
  for (let p = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
    if (builderBases.has(p)) return true;
  }
  return false;
}
