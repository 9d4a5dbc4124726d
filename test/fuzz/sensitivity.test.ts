// The net must have no holes of its own: run the differential fuzzer against a deliberately
// weakened declaration and require it to report a leak. If this passes while the library
// leaks, the oracle is blind. SQLite only: the oracle logic is the same on every dialect.
import assert from 'node:assert/strict';
import { forEachDialect } from '../support/databases';
import { fuzzDialect } from './fuzz-run';
import { DECLARATION } from './world';

const { comments: _forgotten, ...withoutComments } = DECLARATION;

const WEAKENED = [
  { what: 'a table left out of the declaration (comments)', declaration: withoutComments, leak: true },
  {
    what: 'a dimension left out (notes without user)',
    declaration: { ...DECLARATION, notes: { tenant: 'tenant_id' } },
    leak: true,
  },
  {
    // hides rows rather than leaking them: reported as a wrong result
    what: 'a wrong column (comments filtered on task_id as if it held the tenant)',
    declaration: { ...DECLARATION, comments: { tenant: 'task_id' } },
    leak: false,
  },
];

forEachDialect('isolation fuzz: the oracle catches a weakened library', (testDb) => {
  if (testDb.dialect !== 'sqlite') return;
  for (const { what, declaration, leak } of WEAKENED) {
    it(`reports ${leak ? 'a leak' : 'a wrong result'} for ${what}`, async function () {
      this.timeout(60_000);
      const { stats, details } = await fuzzDialect(testDb, {
        cases: 3000,
        seed: 7,
        declaration,
        endOnFailure: true,
        leaksOnly: leak,
      });
      assert.ok(details.failed, `no failure in ${stats.cases} cases`);
      if (leak) assert.ok(stats.leaks > 0, `a failure, but not counted as a leak: ${String(details.errorInstance)}`);
      console.log(`      [fuzz] weakened declaration caught after ${stats.cases} case(s)`);
    });
  }
});
