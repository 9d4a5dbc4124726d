// The RLS bridge: a subclass of the scoped client whose `_query` and `_stream` (every statement
// Knex sends, transaction control included) make the scope a transaction-local setting.
// Transaction and savepoint clients are built from the class prototype, so they inherit it.
//
// Per connection, by the transaction status PostgreSQL reports (node-postgres'
// getTransactionStatus(); tracked from the statements where the driver has none):
// - idle: a statement is sent as `BEGIN; <apply>` (one message), the statement, then `COMMIT`
//   (`ROLLBACK` when it failed). A BEGIN becomes `BEGIN; <apply>`. What cannot run in a
//   transaction block (VACUUM, …) goes as it is;
// - in a transaction: the setting is applied before a statement when the scope differs from the
//   one last applied in this transaction; ROLLBACK [TO SAVEPOINT] forgets what was applied;
// - in a failed transaction: statements go as they are (a rollback, or an error anyway).
// One connection's statements go through the bridge one at a time, so the status read, the
// setting and the statement stay together when an app sends statements at once on a transaction.
import { CREATED, OVERRIDE } from '../knex/builder-symbols';
import type { ClientLike } from '../knex/knex-internals';
import { type ScopeState, scopeStorage } from '../scope-state';
import type { RlsConfig } from './rls-options';
import { currentSettingValue, sqlLiteral } from './rls-setting';
import { statementKind } from './rls-statements';

type ClientClass = new (...args: never[]) => ClientLike;

interface QueryObject {
  sql: string;
  bindings?: unknown[];
  options?: unknown;
  response?: unknown;
  [key: string]: unknown;
}

type Send = (this: unknown, connection: unknown, obj: QueryObject) => Promise<QueryObject>;
type Stream = (
  this: unknown,
  connection: unknown,
  obj: QueryObject,
  stream: unknown,
  options: unknown,
) => Promise<unknown>;

/** The value applied in the connection's current transaction, if known. */
const APPLIED: unique symbol = Symbol('knex-scopes.rls.applied');
/** Transaction status from the statements seen, for drivers that do not report it. */
const IN_TRANSACTION: unique symbol = Symbol('knex-scopes.rls.inTransaction');

/** The last run on the connection through the bridge, while one is pending. */
const TAIL: unique symbol = Symbol('knex-scopes.rls.tail');

interface ConnectionState {
  [APPLIED]?: string | undefined;
  [TAIL]?: Promise<void> | undefined;
  [IN_TRANSACTION]?: boolean;
  getTransactionStatus?: () => string | null;
}

const storage = scopeStorage();

function transactionStatus(connection: ConnectionState): 'I' | 'T' | 'E' {
  if (typeof connection.getTransactionStatus === 'function') {
    const status = connection.getTransactionStatus();
    if (status === 'I' || status === 'T' || status === 'E') return status;
  }
  return connection[IN_TRANSACTION] === true ? 'T' : 'I';
}

/**
 * The statements that apply a value. In the message that opens a transaction, always `SET LOCAL`:
 * a utility statement, it takes no snapshot, so a REPEATABLE READ or SERIALIZABLE transaction
 * still takes its snapshot at its first query and `SET TRANSACTION …` still works there. Inside a
 * transaction, `set_config($1, $2, true)` with bound values, or `SET LOCAL` again for Citus (which
 * forwards only SET statements to its workers).
 */
class Apply {
  constructor(private readonly rls: RlsConfig) {}

  literal(value: string): string {
    return `SET LOCAL ${this.rls.setting} = ${sqlLiteral(value)}`;
  }

  query(value: string): QueryObject {
    return this.rls.citus
      ? { sql: this.literal(value), bindings: [] }
      : { sql: 'select set_config($1, $2, true)', bindings: [this.rls.setting, value] };
  }
}

/** Calls `fn`, turning a synchronous throw into a rejection. */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

const noop = () => {};

/**
 * Runs `fn` once what runs on the connection before it has finished: the status check, the
 * setting and the statement stay together even when an app sends statements of two scopes on one
 * transaction at once (node-postgres would interleave them in its queue).
 */
function exclusive<T>(connection: ConnectionState, fn: () => Promise<T>): Promise<T> {
  const previous = connection[TAIL];
  const run = previous ? previous.then(() => attempt(fn)) : attempt(fn);
  const tail = run.then(noop, noop);
  connection[TAIL] = tail;
  void tail.then(() => {
    if (connection[TAIL] === tail) connection[TAIL] = undefined;
  });
  return run;
}

/**
 * Runs `body` (one statement or a stream on `connection`) with the setting applied, as the
 * connection's transaction status requires.
 */
async function withSetting<T>(
  client: unknown,
  connection: ConnectionState,
  sql: string,
  apply: Apply,
  send: Send,
  body: () => Promise<T>,
  begin?: (value: string) => Promise<T>,
): Promise<T> {
  const kind = statementKind(sql);
  const status = transactionStatus(connection);
  if (status === 'I') {
    connection[APPLIED] = undefined;
    if (kind === 'plain') {
      const rollback = () => send.call(client, connection, { sql: 'ROLLBACK', bindings: [] }).catch(noop);
      let result: T;
      try {
        await send.call(client, connection, { sql: `BEGIN; ${apply.literal(currentSettingValue())}`, bindings: [] });
        result = await body();
      } catch (error) {
        // never hand a connection back to the pool inside a transaction
        await rollback();
        throw error;
      }
      await send.call(client, connection, { sql: 'COMMIT', bindings: [] });
      return result;
    }
    if (kind === 'begin' && begin) {
      const value = currentSettingValue();
      let result: T;
      try {
        result = await begin(value);
      } catch (error) {
        await send.call(client, connection, { sql: 'ROLLBACK', bindings: [] }).catch(noop);
        throw error;
      }
      connection[IN_TRANSACTION] = true;
      connection[APPLIED] = value;
      return result;
    }
    return body();
  }
  if (status === 'T' && kind === 'plain') {
    const value = currentSettingValue();
    if (connection[APPLIED] !== value) {
      connection[APPLIED] = undefined;
      await send.call(client, connection, apply.query(value));
      connection[APPLIED] = value;
    }
    return body();
  }
  if (kind !== 'end' && kind !== 'rollback-to') return body();
  try {
    return await body();
  } finally {
    connection[APPLIED] = undefined;
    if (kind === 'end') connection[IN_TRANSACTION] = false;
  }
}

/** The RLS subclass of a (scoped) dialect client. */
export function makeRlsClientClass(Scoped: ClientClass, rls: RlsConfig): ClientClass {
  const apply = new Apply(rls);
  const proto = Scoped.prototype as unknown as { _query: Send; _stream: Stream };
  const send = proto._query;
  const stream = proto._stream;

  class RlsClient extends (Scoped as new (
    ...args: never[]
  ) => ClientLike & { runner(builder: unknown): { run(): Promise<unknown>; stream?: unknown } }) {
    _query(connection: ConnectionState, obj: QueryObject): Promise<QueryObject> {
      if (!obj.sql) return send.call(this, connection, obj);
      return exclusive(connection, () =>
        withSetting(
          this,
          connection,
          obj.sql,
          apply,
          send,
          () => send.call(this, connection, obj),
          async (value) => {
            if (obj.bindings && obj.bindings.length > 0) {
              const begun = await send.call(this, connection, obj);
              await send.call(this, connection, apply.query(value));
              return begun;
            }
            // One message: `BEGIN …; <apply>`; the BEGIN's own result is the statement's.
            const combined: QueryObject = {
              sql: `${obj.sql.trim().replace(/;+$/, '')}; ${apply.literal(value)}`,
              bindings: [],
            };
            await send.call(this, connection, combined);
            obj.response = Array.isArray(combined.response) ? combined.response[0] : combined.response;
            return obj;
          },
        ),
      );
    }

    _stream(connection: ConnectionState, obj: QueryObject, target: unknown, options: unknown): Promise<unknown> {
      if (!obj.sql) return stream.call(this, connection, obj, target, options);
      // A cursor reads in several round trips: it needs the setting on a transaction of its own.
      return exclusive(connection, () =>
        withSetting(this, connection, obj.sql, apply, send, () => stream.call(this, connection, obj, target, options)),
      );
    }

    override runner(builder: unknown) {
      const runner = super.runner(builder) as ReturnType<ClientLike['runner']> & {
        run(...args: unknown[]): Promise<unknown>;
        stream?: (...args: unknown[]) => unknown;
      };
      const pinned = pinnedState(builder);
      if (!pinned) return runner;
      // The scope the builder's filters were made for is the one its statements run with.
      const run = runner.run;
      runner.run = function (this: unknown, ...args: unknown[]) {
        return storage.run(pinned, () => run.apply(this, args));
      };
      const streamFn = runner.stream;
      if (typeof streamFn === 'function') {
        runner.stream = function (this: unknown, ...args: unknown[]) {
          return storage.run(pinned, () => streamFn.apply(this, args));
        };
      }
      return runner;
    }
  }
  return RlsClient as unknown as ClientClass;
}

/**
 * The state a builder runs in when it is not the one in force: its `withScope()` /
 * `withScopesDisabled()` override, or the scope it was created in when it runs outside any.
 */
function pinnedState(builder: unknown): ScopeState | undefined {
  if (typeof builder !== 'object' || builder === null) return undefined;
  const fields = builder as { [OVERRIDE]?: ScopeState; [CREATED]?: ScopeState };
  if (fields[OVERRIDE]) return fields[OVERRIDE];
  const created = fields[CREATED];
  return created && storage.getStore() === undefined ? created : undefined;
}
