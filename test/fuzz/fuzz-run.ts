// One dialect's fuzz run: open the full and oracle databases, check `cases` random cases with
// fast-check (shrinking the first failure), prove every write was rolled back, close.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TestDb } from '../support/databases';
import { type Case, caseArbitrary, printCase } from './cases';
import { CaseFailure, checkCase } from './check';
import { type Declaration, type FuzzDatabases, openFuzzDatabases } from './oracle-databases';
import { snapshot } from './snapshot';
import { FuzzStats } from './stats';
import { TABLES } from './world';
import { beforeState } from './write-run';

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** A weakened declaration (the sensitivity test); the real one by default. */
  readonly declaration?: Declaration;
  /** Stop at the first failure, without shrinking it. */
  readonly endOnFailure?: boolean;
  /** Fail on leaks only, not on other wrong results (the sensitivity test). */
  readonly leaksOnly?: boolean;
  /** Only cases of these attack classes or shapes of issue 21 (`c4`, `c4:window raw`). */
  readonly focus?: readonly string[];
  /** Record failures (unshrunk) and go on, to count them per attack class. */
  readonly keepGoing?: boolean;
  /**
   * Stop after this long, shrinking included: a failure found by then is reported shrunk as far
   * as it got (each step of a shrink runs on the databases; a slow one must not hit the test's
   * timeout and lose the counterexample). Running out of time with no failure fails too.
   */
  readonly timeLimitMs?: number;
}

const focused = (c: Case, focus: readonly string[]) => [...c.tags].some((t) => focus.some((f) => t.startsWith(f)));

export interface FuzzResult {
  readonly stats: FuzzStats;
  readonly details: fc.RunDetails<[unknown]>;
}

async function assertNoDrift(dbs: FuzzDatabases): Promise<void> {
  for (const db of [dbs.base, ...dbs.oracles.map((o) => o.knex)]) {
    for (const table of TABLES) {
      const now = (await snapshot(db, table.name)).map((r) => r.key).sort();
      const then = (await beforeState(db, table.name)).map((r) => r.key).sort();
      assert.deepEqual(now, then, `${table.name} changed although every write was rolled back`);
    }
  }
}

export async function fuzzDialect(testDb: TestDb, options: FuzzOptions): Promise<FuzzResult> {
  const dbs = await openFuzzDatabases(testDb, options.declaration);
  const stats = new FuzzStats(testDb.dialect);
  const started = Date.now();
  try {
    const focus = options.focus;
    const cases = caseArbitrary(testDb.dialect, focus ? { accept: (c) => focused(c, focus) } : {});
    const details = await fc.check(
      fc.asyncProperty(cases, async (c) => {
        const leaks = stats.leaks;
        try {
          await checkCase(dbs, c, stats);
        } catch (error) {
          if (options.keepGoing && error instanceof CaseFailure) {
            const classes = [...new Set([...c.tags].map((t) => t.split(':')[0]!))];
            const kind = stats.leaks > leaks ? 'leak' : 'mismatch';
            const text = `${printCase(c)}\n        ${error.message.split('\n').join('\n        ')}`;
            stats.failures.push({ kind, classes, text });
            if (process.env.FUZZ_DEBUG) console.log(`FAILURE (${kind}) ${text}`);
            return;
          }
          if (!options.leaksOnly || stats.leaks > leaks) throw error;
        }
      }),
      {
        numRuns: options.cases,
        seed: options.seed,
        endOnFailure: options.endOnFailure ?? false,
        ...(options.timeLimitMs ? { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: true } : {}),
      },
    );
    if (!details.failed) await assertNoDrift(dbs);
    return { stats, details: details as fc.RunDetails<[unknown]> };
  } finally {
    stats.ms = Date.now() - started;
    await dbs.close();
  }
}
