// The one enforcement seam: a subclass of the dialect's client whose queryCompiler rewrites each
// builder just for its compile. The policy lives on the class prototype, so transaction and
// savepoint clients (built with Object.create(client.constructor.prototype)) inherit it.
import { isScopeError } from '../errors';
import { scopeStorage } from '../scope-state';
import { CompileRun, currentFrame, type Frame, popFrame, pushFrame, type ScopedPolicy } from './compile-run';
import { type BuilderLike, type ClientLike, type CompilerLike, isBuilder, isRaw, type RawLike } from './knex-internals';
import { PARENT_CHECKS, type PendingParentChecks, verifyParents } from './parent-checks';
import { type RawFinding, scanRaw } from './raw-policy';
import { refuseRawFindings, rewriteBuilder } from './rewrite';
import { CREATED, OVERRIDE, type ScopedBuilderFields, scopedBuilderClass } from './scoped-builder';

export const POLICY: unique symbol = Symbol.for('knex-scopes.policy');
const FRAME: unique symbol = Symbol('knex-scopes.frame');

type ClientClass = new (...args: never[]) => ClientLike;
type CompilerClass = new (client: ClientLike, builder: BuilderLike, bindings?: unknown[]) => CompilerLike;

interface RunnerLike {
  client: ClientLike;
  connection: unknown;
  query(obj: unknown): Promise<unknown>;
}

const compilerClasses = new WeakMap<CompilerClass, CompilerClass>();
const storage = scopeStorage();

function scopedCompilerClass(Dialect: CompilerClass): CompilerClass {
  let Scoped = compilerClasses.get(Dialect);
  if (Scoped) return Scoped;
  Scoped = class ScopedQueryCompiler extends Dialect {
    [FRAME]: Frame | undefined;

    override toSQL(method?: string, tz?: unknown): unknown {
      const frame = this[FRAME];
      if (!frame) return super.toSQL(method, tz);
      // nested builders compile synchronously inside this call and find the run on the stack
      pushFrame(frame);
      let query: unknown;
      try {
        query = super.toSQL(method, tz);
      } catch (error) {
        if (frame.top && isScopeError(error)) frame.run.failed(error);
        throw error;
      } finally {
        popFrame();
      }
      if (!frame.top) return query;
      frame.run.finish(query);
      const pending = frame.run.pendingParentChecks();
      const first = Array.isArray(query) ? query[0] : query;
      if (pending && typeof first === 'object' && first !== null) {
        Object.defineProperty(first, PARENT_CHECKS, { value: pending });
      }
      return query;
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
  }) {
    override queryBuilder(): BuilderLike {
      if (!builderClass) {
        builderClass = scopedBuilderClass(super.queryBuilder().constructor as Parameters<typeof scopedBuilderClass>[0]);
      }
      return new builderClass(this);
    }

    override queryCompiler(builder: BuilderLike, bindings?: unknown[]): CompilerLike {
      if (!compilerClass) {
        compilerClass = scopedCompilerClass(super.queryCompiler(builder, bindings).constructor as CompilerClass);
      }
      const Compiler = compilerClass;
      if (!isBuilder(builder)) return new Compiler(this, builder, bindings);
      const outer = currentFrame();
      const fields = builder as BuilderLike & Partial<ScopedBuilderFields>;
      let run: CompileRun;
      if (outer) run = outer.run;
      else {
        run = new CompileRun(policy, fields[CREATED], storage.getStore(), fields[OVERRIDE]);
        run.topMethod = builder._method;
      }
      try {
        const rewrite = rewriteBuilder(builder, run);
        let compiler: CompilerLike & { [FRAME]?: Frame };
        if (rewrite) {
          // The compiler's constructor snapshots _statements and _single: swap them just for it.
          const { _statements, _single } = builder;
          builder._statements = rewrite.statements;
          builder._single = rewrite.single;
          try {
            compiler = new Compiler(this, builder, bindings);
          } finally {
            builder._statements = _statements;
            builder._single = _single;
          }
        } else {
          compiler = new Compiler(this, builder, bindings);
        }
        compiler[FRAME] = { run, top: outer === undefined };
        return compiler;
      } catch (error) {
        if (outer === undefined && isScopeError(error)) run.failed(error);
        throw error;
      }
    }

    override runner(builder: unknown) {
      if (isRaw(builder) && !isBuilder(builder)) checkRawStatement(builder as RawLike, policy);
      const runner = super.runner(builder) as ReturnType<ClientLike['runner']> & RunnerLike;
      if (isBuilder(builder) && (builder._method === 'insert' || builder._method === 'update')) {
        const query = runner.query;
        // FK-path parents are verified on the write's own connection, just before it is sent.
        runner.query = function (this: RunnerLike, obj: unknown) {
          const pending = (obj as Record<symbol, PendingParentChecks | undefined> | null)?.[PARENT_CHECKS];
          if (!pending) return query.call(this, obj);
          return verifyParents(this.client, this.connection, pending, (obj as { sql?: string }).sql).then(() =>
            query.call(this, obj),
          );
        };
      }
      return runner;
    }
  }
  Object.defineProperty(ScopedClient.prototype, POLICY, { value: policy });
  return ScopedClient as unknown as ClientClass;
}

/** A whole raw statement (`db.raw(…)`) run through a wrapped instance. */
function checkRawStatement(raw: RawLike, policy: ScopedPolicy): void {
  const findings: RawFinding[] = [];
  scanRaw(raw, false, policy.matcher, findings);
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
