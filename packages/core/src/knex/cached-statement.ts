// The compiler side of write-cache.ts: a subclass of the dialect's compiler whose insert() and
// update() answer a statement already compiled for the write's shape (its SQL, and the write's
// own values as bindings) instead of compiling it again; and that records what the dialect's
// method answered when a template is compiled. Knex's own toSQL() still assembles the query
// object around it (method, options, timeout, uid, toNative), as for any statement.

export const CACHED_STATEMENT: unique symbol = Symbol('knex-scopes.cachedStatement');
export const RECORD_STATEMENT: unique symbol = Symbol('knex-scopes.recordStatement');

export interface CachedStatement {
  readonly sql: string;
  /** The dialect answers `{ sql, returning }` (PostgreSQL, SQLite) rather than the SQL alone (MySQL). */
  readonly withReturning: boolean;
  readonly bindings: unknown[];
}

/** What the dialect's insert() or update() answered, in a template compile. */
export interface RecordedStatement {
  answer?: unknown;
}

interface Compiler {
  readonly single: { returning?: unknown };
  readonly bindingsHolder: { bindings: unknown[] };
  [CACHED_STATEMENT]?: CachedStatement;
  [RECORD_STATEMENT]?: RecordedStatement;
}

type Method = (this: Compiler) => unknown;
type CompilerClass = new (...args: never[]) => unknown;

const classes = new WeakMap<CompilerClass, CompilerClass>();

function answer(compiler: Compiler, statement: CachedStatement): unknown {
  const holder = compiler.bindingsHolder.bindings;
  for (let i = 0; i < statement.bindings.length; i++) holder.push(statement.bindings[i]);
  return statement.withReturning ? { sql: statement.sql, returning: compiler.single.returning } : statement.sql;
}

function cachedMethod(own: Method): Method {
  return function (this: Compiler): unknown {
    const statement = this[CACHED_STATEMENT];
    if (statement !== undefined) return answer(this, statement);
    const out = own.call(this);
    const record = this[RECORD_STATEMENT];
    if (record !== undefined) record.answer = out;
    return out;
  };
}

/** `Base` (the guarded compiler of a dialect) with cached inserts and updates; one subclass per class. */
export function cachedStatementCompilerClass<C extends CompilerClass>(Base: C): C {
  const known = classes.get(Base);
  if (known) return known as C;
  const proto = Base.prototype as { insert: Method; update: Method };
  // the fields as the instance's own from its construction: setting them is then a plain store
  const Cached = class CachedStatementCompiler extends (Base as new (...args: never[]) => object) {
    [CACHED_STATEMENT]: CachedStatement | undefined = undefined;
    [RECORD_STATEMENT]: RecordedStatement | undefined = undefined;
  };
  Object.defineProperties(Cached.prototype, {
    insert: { configurable: true, writable: true, value: cachedMethod(proto.insert) },
    update: { configurable: true, writable: true, value: cachedMethod(proto.update) },
  });
  classes.set(Base, Cached as unknown as CompilerClass);
  return Cached as unknown as C;
}
