// Differential fuzzing of the scoped Knex (issue 7): random reads and writes run under a scope
// on the full database must behave exactly as the same query, unscoped, on a database that
// holds only what the scope may see. Bounded in `npm test`; `npm run fuzz -- --cases N --seed S`
// for long runs. See docs/isolation.md. The attack classes (c1…c11: gen-raw.ts, gen-write.ts,
// gen-read.ts, gen-sql-string.ts…) are counted per run; FUZZ_FOCUS=c5,c7 draws only cases of those classes, and
// FUZZ_KEEP_GOING=1 counts every failure per class (unshrunk) instead of shrinking the first.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forEachDialect } from '../support/databases';
import { fuzzDialect } from './fuzz-run';
import { dialectLine, type FuzzStats, failureLines, summaryLine } from './stats';

const DEFAULT_CASES = 1000;
const CASES = Number(process.env.FUZZ_CASES ?? DEFAULT_CASES);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
const BOUNDED_TIMEOUT_MS = 150_000;
/** Both runs failing with a database error: the generator's fault, kept rare. */
const MAX_INVALID_RATE = 0.05;
/** FUZZ_FOCUS=c4,c7:… : only cases of these attack classes (or shapes) of issue 21. */
const FOCUS = process.env.FUZZ_FOCUS ? process.env.FUZZ_FOCUS.split(',').map((f) => f.trim()) : undefined;
/** FUZZ_KEEP_GOING=1: count every failure per attack class instead of shrinking the first. */
const KEEP_GOING = Boolean(process.env.FUZZ_KEEP_GOING);

describe('isolation fuzz', () => {
  const all: FuzzStats[] = [];

  forEachDialect('differential queries', (testDb) => {
    it(`${CASES} random reads and writes agree with the oracle databases (seed ${SEED})`, async function () {
      const bounded = CASES <= DEFAULT_CASES;
      this.timeout(bounded ? BOUNDED_TIMEOUT_MS : 0);
      const { stats, details } = await fuzzDialect(testDb, {
        cases: CASES,
        seed: SEED,
        // a failure's shrinking stops in time to be reported (the cases themselves take ~15 s)
        ...(bounded ? { timeLimitMs: BOUNDED_TIMEOUT_MS - 15_000 } : {}),
        ...(FOCUS ? { focus: FOCUS } : {}),
        keepGoing: KEEP_GOING,
      });
      all.push(stats);
      console.log(`      ${dialectLine(stats, SEED)}`);
      if (KEEP_GOING) for (const line of failureLines(stats)) console.log(`      ${line}`);
      for (const q of stats.questionable.slice(0, 5)) console.log(`      [fuzz] questionable ${q.code}: ${q.text}`);
      if (details.failed) assert.fail(`${fc.defaultReportMessage(details)}\n${String(details.errorInstance)}`);
      assert.equal(stats.failures.length, 0, `${stats.failures.length} failing case(s) (FUZZ_KEEP_GOING)`);
      assert.ok(
        stats.invalidRate() < MAX_INVALID_RATE,
        `too many invalid queries: ${stats.invalid} of ${stats.cases} (${JSON.stringify([...stats.invalidCodes])})`,
      );
    });
  });

  after(() => {
    if (all.length > 0) console.log(`      ${summaryLine(all, SEED)}`);
  });
});
