// Each test inside one transaction, rolled back after it: nothing a test writes outlives it.
import type { Knex } from 'knex';

/** The runner's hooks: `{ beforeEach, afterEach }` of mocha, Vitest or Jest. */
export interface EachHooks {
  beforeEach(fn: () => Promise<void>): unknown;
  afterEach(fn: () => Promise<void>): unknown;
}

/** Where the transaction is opened, and who is told about it (a KnexSwitch is one). */
export interface TransactionTarget {
  /** Opens each test's transaction: the scoped instance, so that the transaction is scoped. */
  readonly root: Knex;
  /** Called with the test's transaction before the test, with undefined before its rollback. */
  use(trx: Knex.Transaction | undefined): void;
}

export interface TestTransaction {
  /** The running test's transaction; throws outside a test. */
  current(): Knex.Transaction;
}

/**
 * Declares a beforeEach that opens a transaction on `target.root` and hands it to
 * `target.use()`, and an afterEach that takes it back and rolls it back. Call it before the
 * hooks that seed (they then write inside the transaction), at the top of a file or describe
 * block, or once in a setup file for the whole suite.
 *
 * `transactionPerTest({ beforeEach, afterEach }, dbSwitch)`
 */
export function transactionPerTest(hooks: EachHooks, target: TransactionTarget): TestTransaction {
  let trx: Knex.Transaction | undefined;
  hooks.beforeEach(async () => {
    if (trx) throw new Error('transactionPerTest: the previous test transaction was not rolled back');
    trx = await target.root.transaction();
    target.use(trx);
  });
  hooks.afterEach(async () => {
    const open = trx;
    trx = undefined;
    target.use(undefined);
    // Already over when app code committed or rolled back the test's transaction itself.
    if (open && !open.isCompleted()) await open.rollback();
  });
  return {
    current() {
      if (!trx) throw new Error('transactionPerTest: no test transaction is open (only inside a test)');
      return trx;
    },
  };
}
