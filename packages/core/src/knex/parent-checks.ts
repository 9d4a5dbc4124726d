// Writes that set an FK path column (comments.page_id) must point at a parent visible in the
// scope. The compile collects the keys (synchronously). Where the write can carry the check
// itself (in-statement-checks.ts), nothing runs before it and the keys are verified afterwards
// only when it wrote no row. Otherwise the
// runner checks them with one query per statement and parent, on the write's own connection
// (inside its transaction, so a parent inserted earlier in that transaction counts), right
// before the write is sent.
import { callSiteOf, captureStack, type EventSink, publish, wantsEvent } from '../diagnostics';
import { ScopeError } from '../errors';
import type { ScopeState } from '../scope-state';
import type { ScopeKey } from '../scope-values';
import type { PathRule } from '../table-paths';
import { affectedRows, countingDriver } from './affected-rows';
import { ONLY_DIMENSIONS, OVERRIDE } from './builder-symbols';
import type { BuilderLike, ClientLike } from './knex-internals';

export const PARENT_CHECKS: unique symbol = Symbol('knex-scopes.parentChecks');

export interface ParentCheck {
  readonly table: string;
  readonly column: string;
  readonly dimensions: string[];
  readonly parentTable: string;
  readonly parentKey: string;
  readonly schema: string | undefined;
  readonly keys: Map<string, ScopeKey>;
}

export interface PendingParentChecks {
  readonly state: ScopeState | undefined;
  /** Verified before the write is sent. */
  readonly checks: readonly ParentCheck[];
  /** Carried by the write itself: verified after it, when it wrote no row. */
  readonly inStatement?: { readonly checks: readonly ParentCheck[] } | undefined;
  readonly mode: 'enforce' | 'report';
  readonly onEvent: EventSink | undefined;
  /** Where the write was built, for the event's call site. */
  readonly origin?: { stack?: string } | undefined;
}

/** Adds the keys one rule needs to verify; rules on the same column and parent share a check. */
export function addParentKeys(
  checks: ParentCheck[],
  table: string,
  rule: PathRule,
  schema: string | undefined,
  keys: Iterable<ScopeKey>,
): void {
  let check = checks.find(
    (c) => c.column === rule.column && c.parentTable === rule.parentTable && c.parentKey === rule.parentKey,
  );
  if (!check) {
    check = {
      table,
      column: rule.column,
      dimensions: [],
      parentTable: rule.parentTable,
      parentKey: rule.parentKey,
      schema,
      keys: new Map(),
    };
    checks.push(check);
  }
  if (!check.dimensions.includes(rule.dimension)) check.dimensions.push(rule.dimension);
  for (const key of keys) check.keys.set(String(key), key);
}

const CHUNK = 5000;

function stackAndCallSite(stack: string): { stack: string; callSite?: string } {
  const callSite = callSiteOf(stack);
  return callSite === undefined ? { stack } : { stack, callSite };
}

type CheckBuilder = BuilderLike & {
  select(c: string): CheckBuilder;
  from(t: string): CheckBuilder;
  whereIn(c: string, v: unknown[]): CheckBuilder;
  connection(c: unknown): CheckBuilder;
  forShare(): CheckBuilder;
  then: PromiseLike<Array<Record<string, unknown>>>['then'];
};

function describeKeys(keys: string[]): string {
  const shown = keys.slice(0, 5).map((k) => JSON.stringify(k));
  return shown.join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
}

function couldNotVerify(check: ParentCheck, error: unknown): ScopeError {
  return new ScopeError(
    'CROSS_SCOPE_WRITE',
    `Write to "${check.table}" refused: could not verify that "${check.column}" references rows of ` +
      `"${check.parentTable}" in the active scope (${(error as Error).message.split('\n', 1)[0]}).`,
    { table: check.table, column: check.column, dimensions: check.dimensions },
  );
}

/**
 * The check a failed write's error belongs to when a key is what PostgreSQL could not take:
 * a parameter is converted to its column's type before anything runs (`invalid input syntax for
 * type integer: "abc"`, `value "…" is out of range`), so a key the pre-check's query would have
 * failed on fails the whole write. Said as the pre-check said it.
 */
function malformedKeyCheck(
  client: ClientLike,
  error: unknown,
  checks: readonly ParentCheck[],
): ParentCheck | undefined {
  if (countingDriver(client) !== 'pg' || !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('22')) return undefined; // SQLSTATE class 22: data exception
  return checks.find((check) => [...check.keys.keys()].some((key) => error.message.includes(`"${key}"`)));
}

/** Runs the checks on `connection`; throws CROSS_SCOPE_WRITE (enforce) or reports (report). */
export async function verifyParents(
  client: ClientLike,
  connection: unknown,
  pending: PendingParentChecks,
  sql?: string,
): Promise<void> {
  for (const check of pending.checks) {
    const wanted = [...check.keys.values()];
    const found = new Set<string>();
    const parent = check.schema ? `${check.schema}.${check.parentTable}` : check.parentTable;
    const keyColumn = `${check.parentTable}.${check.parentKey}`;
    try {
      for (let i = 0; i < wanted.length; i += CHUNK) {
        const q = client.queryBuilder() as CheckBuilder;
        (q as unknown as Record<symbol, unknown>)[OVERRIDE] = pending.state;
        // the parent is filtered on the dimensions this path carries, as a read through it is
        (q as unknown as Record<symbol, unknown>)[ONLY_DIMENSIONS] = check.dimensions;
        q.select(keyColumn)
          .from(parent)
          .whereIn(keyColumn, wanted.slice(i, i + CHUNK))
          .connection(connection);
        // MySQL/MariaDB: a locking read, as the INSERT … SELECT of a carried check and a foreign-key
        // check are: it reads the latest committed parent (not an older snapshot of the transaction)
        // and holds it until the transaction ends, so no other one moves it before the write
        if (client.dialect === 'mysql') q.forShare();
        for (const row of await q) found.add(String(Object.values(row)[0]));
      }
    } catch (error) {
      if (error instanceof ScopeError) throw error;
      throw couldNotVerify(check, error);
    }
    const missing = [...check.keys.keys()].filter((k) => !found.has(k));
    if (missing.length === 0) continue;
    const error = new ScopeError(
      'CROSS_SCOPE_WRITE',
      `Write to "${check.table}" refused: "${check.column}" = ${describeKeys(missing)} does not reference a row of ` +
        `"${check.parentTable}" visible in the active scope (on ${check.dimensions.join(', ')}). ` +
        'The row belongs to another tenant or does not exist.',
      {
        table: check.table,
        column: check.column,
        dimensions: check.dimensions,
        value: missing.map((k) => check.keys.get(k)),
      },
    );
    if (pending.mode === 'enforce') throw error;
    if (wantsEvent('violation', pending.onEvent)) {
      publish(
        {
          kind: 'violation',
          code: error.code,
          tables: [check.table],
          dimensions: check.dimensions,
          message: error.message,
          ...(sql === undefined ? {} : { sql }),
          ...stackAndCallSite(pending.origin?.stack ?? captureStack()),
        },
        pending.onEvent,
      );
    }
  }
}

/**
 * Sends a write that sets FK path keys (`send`, on `connection`): its pre-checks first; then, for
 * checks the statement carried, a follow-up check only when it wrote no row,
 * to tell a parent out of scope (CROSS_SCOPE_WRITE) from no matching row or a conflict left
 * alone (the result as the database gave it).
 */
export function sendCheckedWrite(
  client: ClientLike,
  connection: unknown,
  query: { sql?: string; response?: unknown },
  pending: PendingParentChecks,
  send: () => Promise<unknown>,
): Promise<unknown> {
  if (pending.checks.length > 0) {
    return verifyParents(client, connection, pending, query.sql).then(() =>
      sendCarried(client, connection, query, pending, send),
    );
  }
  return sendCarried(client, connection, query, pending, send);
}

/**
 * The write, then the follow-up of the checks it carried. Promise callbacks rather than an async
 * function: every write that carries its check comes through here, and with a scope open each
 * promise also runs AsyncLocalStorage's hooks, so the one continuation it needs is all it makes.
 */
function sendCarried(
  client: ClientLike,
  connection: unknown,
  query: { sql?: string; response?: unknown },
  pending: PendingParentChecks,
  send: () => Promise<unknown>,
): Promise<unknown> {
  const after = pending.inStatement;
  let sent: Promise<unknown>;
  try {
    sent = send();
  } catch (error) {
    sent = Promise.reject(error);
  }
  if (after === undefined) return sent;
  return sent.then(
    (result: unknown) => {
      // an unknown count (a driver that answered otherwise) is verified too: fail closed
      const affected = affectedRows(client, query);
      // The condition is all or nothing (one row: its parent; a batch: every parent counted), so a
      // write that touched any row had every parent in scope. Only none written needs telling apart
      // (a parent out of scope, or no match, or every row a conflict left alone); fewer rows than
      // sent is ignore()/merge() at work, and a check then, matching keys as text ('01' is not '1'),
      // could call a written batch refused.
      if (affected !== undefined && affected !== 0) return result;
      return verifyParents(client, connection, { ...pending, checks: after.checks }, query.sql).then(() => result);
    },
    (error: unknown) => {
      const check = malformedKeyCheck(client, error, after.checks);
      throw check ? couldNotVerify(check, error) : error;
    },
  );
}

/** Every check, before the statement: a streamed write's rows are not counted. */
export function verifyAllParents(
  client: ClientLike,
  connection: unknown,
  pending: PendingParentChecks,
  sql: string | undefined,
): Promise<void> {
  const checks = pending.inStatement ? [...pending.checks, ...pending.inStatement.checks] : pending.checks;
  return verifyParents(client, connection, { ...pending, checks }, sql);
}
