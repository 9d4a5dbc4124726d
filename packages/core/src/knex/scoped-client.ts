// The one enforcement seam: a subclass of the dialect's client whose queryCompiler rewrites each
// builder just for its compile; a scoped builder's toSQL() opens the run of a top-level compile.
// The policy lives on the class prototype, so transaction and savepoint clients (built with
// Object.create(client.constructor.prototype)) inherit it.
import { isScopeError, ScopeError } from '../errors';
import { scopeStorage } from '../scope-state';
import { COMPILE_TOP_LEVEL, CREATED, ORIGIN, OVERRIDE, POLICY } from './builder-symbols';
import { cachedStatementCompilerClass } from './cached-statement';
import { CompileRun, callInRun, currentRun, type ScopedPolicy } from './compile-run';
import { guardedInsertCompilerClass } from './guarded-insert';
import { placeParentChecks } from './in-statement-checks';
import { type BuilderLike, type ClientLike, type CompilerLike, isBuilder, isRaw, type RawLike } from './knex-internals';
import { PARENT_CHECKS, type PendingParentChecks, sendCheckedWrite, verifyAllParents } from './parent-checks';
import { publishCompiled, publishRaw, queryChannel } from './query-channel';
import { checkRaw, type RawFinding } from './raw/check-raw';
import { rewriteBuilder } from './rewrite';
import { refuseRawFindings } from './scope-refusals';
import { type DialectToSQL, type ScopedBuilderFields, scopedBuilderClass } from './scoped-builder';
import { parseTableName } from './table-refs';
import { cachedWriteCompiler } from './write-cache';

export { POLICY } from './builder-symbols';

const OWN_RUN: unique symbol = Symbol('knex-scopes.ownRun');

type ClientClass = new (...args: never[]) => ClientLike;
type CompilerClass = new (client: ClientLike, builder: BuilderLike, bindings?: unknown[]) => CompilerLike;

function pendingOf(query: unknown): PendingParentChecks | undefined {
  const first = Array.isArray(query) ? query[0] : query;
  return (first as Record<symbol, PendingParentChecks | undefined> | null | undefined)?.[PARENT_CHECKS];
}

const compilerClasses = new WeakMap<CompilerClass, CompilerClass>();
const storage = scopeStorage();

/**
 * One top-level compile, `toSQL.call(self, method, tz)`: everything compiled inside it (the
 * builder and the builders nested in it) shares `run`; what the run observed is published once,
 * at the end.
 */
function compileTopLevel<S>(
  run: CompileRun,
  toSQL: (this: S, method: string | undefined, tz: unknown) => unknown,
  self: S,
  method: string | undefined,
  tz: unknown,
): unknown {
  let query: unknown;
  try {
    query = callInRun(run, toSQL, self, method, tz);
  } catch (error) {
    if (isScopeError(error)) run.failed(error);
    throw error;
  }
  run.finish(query);
  if (queryChannel.hasSubscribers) publishCompiled(run, self, query);
  const pending = run.pendingParentChecks();
  if (pending) {
    const first = Array.isArray(query) ? query[0] : query;
    if (typeof first === 'object' && first !== null) Object.defineProperty(first, PARENT_CHECKS, { value: pending });
  }
  return query;
}

function topLevelRun(policy: ScopedPolicy, builder: BuilderLike): CompileRun {
  const fields = builder as BuilderLike & Partial<ScopedBuilderFields>;
  const run = new CompileRun(policy, fields[CREATED], storage.getStore(), fields[OVERRIDE]);
  run.topMethod = builder._method;
  run.origin = (builder as unknown as Record<symbol, { stack?: string } | undefined>)[ORIGIN];
  return run;
}

/**
 * The compiler for a top-level builder that is not a scoped builder, e.g. one of the unscoped
 * base instance run on a scoped transaction (`base('pages').transacting(trx)`): its toSQL()
 * opens the run that a scoped builder's toSQL() would have opened.
 */
function ownRunCompilerClass(Dialect: CompilerClass): CompilerClass {
  let Scoped = compilerClasses.get(Dialect);
  if (Scoped) return Scoped;
  const dialectToSQL = Dialect.prototype.toSQL as (this: CompilerLike, method?: string, tz?: unknown) => unknown;
  Scoped = class OwnRunQueryCompiler extends Dialect {
    declare [OWN_RUN]: CompileRun | undefined;

    override toSQL(method?: string, tz?: unknown): unknown {
      const run = this[OWN_RUN];
      return run ? compileTopLevel(run, dialectToSQL, this, method, tz) : super.toSQL(method, tz);
    }
  };
  compilerClasses.set(Dialect, Scoped);
  return Scoped;
}

/** The scoped subclass of a dialect client, carrying one policy. */
export function makeScopedClientClass(Base: ClientClass, policy: ScopedPolicy): ClientClass {
  let builderClass: ReturnType<typeof scopedBuilderClass> | undefined;
  let compilerClass: CompilerClass | undefined;

  class ScopedClient extends (Base as new (
    ...args: never[]
  ) => ClientLike & {
    queryBuilder(): BuilderLike;
    queryCompiler(builder: BuilderLike, bindings?: unknown[]): CompilerLike;
    runner(builder: unknown): { run(): Promise<unknown> };
    stream(connection: unknown, query: unknown, stream: unknown, options: unknown): Promise<unknown>;
    query(connection: unknown, obj: unknown): Promise<unknown>;
  }) {
    override queryBuilder(): BuilderLike {
      if (!builderClass) {
        builderClass = scopedBuilderClass(super.queryBuilder().constructor as Parameters<typeof scopedBuilderClass>[0]);
      }
      return new builderClass(this);
    }

    /** Called by a scoped builder's toSQL() (runs, toString(), toNative() go through it). */
    [COMPILE_TOP_LEVEL](builder: BuilderLike, toSQL: DialectToSQL, method: string | undefined, tz: unknown): unknown {
      const run = topLevelRun(policy, builder);
      // Its SQL is the whole statement: what a run sends, or what toSQL()/toString() show.
      // (A builder nested in a raw statement compiles through queryCompiler() below instead.)
      run.statement = builder;
      return compileTopLevel(run, toSQL, builder, method, tz);
    }

    override queryCompiler(builder: BuilderLike, bindings?: unknown[]): CompilerLike {
      if (!compilerClass) {
        // learnt on a blank builder (the dialect's compiler may warn about what a real one holds),
        // with guarded inserts (guarded-insert.ts): it changes only a write its rewrite marks;
        // and cached statements (cached-statement.ts): only for a write write-cache.ts answers
        compilerClass = cachedStatementCompilerClass(
          guardedInsertCompilerClass(super.queryCompiler(super.queryBuilder()).constructor as CompilerClass),
        );
      }
      const Compiler = compilerClass;
      if (!isBuilder(builder)) return new Compiler(this, builder, bindings);
      const outer = currentRun();
      // Inside a compile (the usual case): the dialect's own compiler, on the rewritten builder.
      if (outer) {
        // a one-row FK-path write of a shape compiled before: its statement, with its values
        if (builder === outer.statement) {
          const cached = cachedWriteCompiler(this, Compiler, builder, bindings, outer);
          if (cached !== undefined) return cached;
        }
        const rewrite = rewriteBuilder(builder, outer);
        // the statement's own FK-path checks, collected by its rewrite, may travel inside it
        const placed =
          outer.parentChecks !== undefined && builder === outer.statement
            ? placeParentChecks(this, builder, outer, rewrite)
            : rewrite;
        return compileRewritten(this, Compiler, builder, bindings, placed);
      }
      const run = topLevelRun(policy, builder);
      try {
        const OwnRun = ownRunCompilerClass(Compiler);
        const compiler = compileRewritten(
          this,
          OwnRun,
          builder,
          bindings,
          rewriteBuilder(builder, run),
        ) as CompilerLike & {
          [OWN_RUN]?: CompileRun;
        };
        compiler[OWN_RUN] = run;
        return compiler;
      } catch (error) {
        if (isScopeError(error)) run.failed(error);
        throw error;
      }
    }

    /** A streamed write (`insert(…).returning(…).stream()`) is not counted: every parent is checked first. */
    override stream(connection: unknown, query: unknown, stream: unknown, options: unknown): Promise<unknown> {
      const pending = pendingOf(query);
      if (!pending) return super.stream(connection, query, stream, options);
      return verifyAllParents(this, connection, pending, (query as { sql?: string } | null)?.sql).then(
        () => super.stream(connection, query, stream, options),
        (error: unknown) => {
          (stream as { emit(event: string, error: unknown): void }).emit('error', error);
          throw error;
        },
      );
    }

    override runner(builder: unknown) {
      if (isRaw(builder) && !isBuilder(builder)) checkRawStatement(this, builder as RawLike, policy);
      if (queryChannel.hasSubscribers && isRaw(builder) && !isBuilder(builder))
        publishRaw(this, builder as RawLike, policy, storage.getStore());
      // a schema builder (DDL belongs on the base instance): its raws, and steps on scoped tables
      const sequence = (builder as { _sequence?: unknown } | null)?._sequence;
      if (Array.isArray(sequence)) checkSchemaSteps(this, sequence, policy);
      return super.runner(builder);
    }

    /**
     * Every statement a runner sends (Knex's Runner#query calls this): FK-path parents are
     * verified on the statement's own connection, just before it is sent, or after it when the
     * write carried the check and wrote no row. Whatever the top-level verb: a
     * data-modifying CTE (`with x as (update …) select …`) sets keys too.
     */
    override query(connection: unknown, obj: unknown): Promise<unknown> {
      const pending = (obj as Record<symbol, PendingParentChecks | undefined> | null | undefined)?.[PARENT_CHECKS];
      if (!pending) return super.query(connection, obj);
      return sendCheckedWrite(this, connection, obj as { sql?: string }, pending, () => super.query(connection, obj));
    }
  }
  Object.defineProperty(ScopedClient.prototype, POLICY, { value: policy });
  return ScopedClient as unknown as ClientClass;
}

/** A compiler for `builder` as rewritten: the compiler snapshots _statements and _single. */
function compileRewritten(
  client: ClientLike,
  Compiler: CompilerClass,
  builder: BuilderLike,
  bindings: unknown[] | undefined,
  rewrite: ReturnType<typeof rewriteBuilder>,
): CompilerLike {
  if (!rewrite) return new Compiler(client, builder, bindings);
  const { _statements, _single } = builder;
  builder._statements = rewrite.statements;
  builder._single = rewrite.single;
  try {
    return new Compiler(client, builder, bindings);
  } finally {
    builder._statements = _statements;
    builder._single = _single;
  }
}

// Schema steps that only create a table or only look: they reach no tenant's rows.
const HARMLESS_SCHEMA_STEPS = new Set([
  'createTable',
  'createTableIfNotExists',
  'createTableLike',
  'hasTable',
  'hasColumn',
]);

/**
 * A schema builder run through the scoped instance (DDL belongs on the base instance): its raw
 * steps are raw statements like any other, and every other step but creating a table or looking
 * is refused while enforcing, as truncate() is: altering or dropping a scoped table reaches every
 * tenant's rows, and a view (`createView(… as(raw))`) would serve them under an undeclared name.
 */
function checkSchemaSteps(client: ClientLike, sequence: unknown[], policy: ScopedPolicy): void {
  for (const step of sequence as Array<{ method?: unknown; args?: unknown[] } | null>) {
    const method = step?.method;
    const first = step?.args?.[0];
    if (method === 'raw') {
      checkRawStatement(client, client.raw(first as string, step?.args?.[1]), policy);
      continue;
    }
    if (typeof method === 'string' && HARMLESS_SCHEMA_STEPS.has(method)) continue;
    const run = new CompileRun(policy, undefined, storage.getStore(), undefined);
    const state = run.state();
    if (state && !state.enabled) continue;
    const named = typeof first === 'string' ? policy.matcher.match(parseTableName(first).name) : undefined;
    const error = new ScopeError(
      'UNSUPPORTED_QUERY',
      `schema.${String(method)}(${typeof first === 'string' ? `"${first}"` : '…'}) through the scoped instance is refused ` +
        "while scopes are enforced: DDL can reach every tenant's rows. Run it on the base Knex instance (migrations, " +
        'seeds), or inside scopesDisabled().',
      named ? { table: named.table } : {},
    );
    try {
      run.refuse(error);
      run.finish(undefined);
    } catch (e) {
      if (isScopeError(e)) run.failed(e);
      throw e;
    }
  }
}

/** A whole raw statement (`db.raw(…)`) run through a wrapped instance. */
function checkRawStatement(client: ClientLike, raw: RawLike, policy: ScopedPolicy): void {
  const findings: RawFinding[] = [];
  checkRaw(raw, false, client, policy.matcher, findings);
  if (findings.length === 0) return;
  const run = new CompileRun(policy, undefined, storage.getStore(), undefined);
  try {
    refuseRawFindings(run, findings);
    run.finish(raw.sql);
  } catch (error) {
    if (isScopeError(error)) run.failed(error);
    throw error;
  }
}
