// The fault-injected soak (issue 7): each adapter on PostgreSQL takes 2 000 concurrent requests
// over 50 tenants while backends are killed, the pool is held by long queries, lookups throw,
// errors are raised right after queries and clients walk away mid-response. No answer may hold
// another tenant's row; every failure must be an error status; a clean round afterwards must be
// fully correct. `npm run soak -- --requests N --rounds R` for longer runs (docs/isolation.md).
import assert from 'node:assert/strict';
import { FRAMEWORKS } from '../adapters/support/apps';
import { createSchema } from '../adapters/support/schema';
import { forEachDialect } from '../support/databases';
import { DEFAULT_FAULTS } from './faults';
import { type SoakResult, soakAdapter, soakLine } from './soak-run';

const DEFAULT_REQUESTS = 2000;
const REQUESTS = Number(process.env.SOAK_REQUESTS ?? DEFAULT_REQUESTS);
const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 1);

forEachDialect('http adapters: fault-injected soak', (testDb) => {
  // pg_terminate_backend and a real pool: PostgreSQL only
  if (testDb.dialect !== 'pg') return;
  const results: SoakResult[] = [];

  before(async () => {
    await createSchema(testDb.knex());
  });

  for (const framework of FRAMEWORKS) {
    it(`${framework}: ${REQUESTS} requests × ${ROUNDS} under faults, no leak, every failure an error status`, async function () {
      this.timeout(REQUESTS * ROUNDS > DEFAULT_REQUESTS ? 0 : 30_000);
      const r = await soakAdapter(framework, testDb, {
        requests: REQUESTS,
        rounds: ROUNDS,
        abortRate: 0.05,
        faults: DEFAULT_FAULTS,
      });
      results.push(r);
      console.log(`      ${soakLine(r)}`);
      assert.equal(r.leaks, 0, `answers with another tenant's data: ${r.wrong.slice(0, 5).join('; ')}`);
      assert.deepEqual(r.wrong.slice(0, 5), [], 'answers that were neither right nor an error status');
      assert.deepEqual(r.dropped.slice(0, 5), [], 'requests dropped without an answer');
      assert.deepEqual(r.cleanWrong.slice(0, 5), [], 'the clean round after the storm');
      assert.deepEqual(r.leftovers, [], 'state left behind by the storm');
      assert.equal(r.misattributed, 0, 'pages written for another tenant');
      // the storm must really have been one
      assert.ok(r.faults.killed > 0 && r.faults.lookupErrors > 0 && r.faults.afterQueryErrors > 0, soakLine(r));
    });
  }

  after(() => {
    if (results.length === 0) return;
    const errors = new Map<string, number>();
    for (const r of results) for (const [k, n] of r.errors) errors.set(k, (errors.get(k) ?? 0) + n);
    const codes = [...errors.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    const sum = (f: (r: SoakResult) => number) => results.reduce((n, r) => n + f(r), 0);
    console.log(
      `      [soak] summary: ${sum((r) => r.requests)} requests on pg through ${results.length} adapter(s) ` +
        `(${results.map((r) => r.framework).join(', ')}), leaks ${sum((r) => r.leaks)}, ` +
        `wrong ${sum((r) => r.wrong.length)}, dropped ${sum((r) => r.dropped.length)}, ` +
        `error statuses by code: ${codes.join(', ') || 'none'}; clean rounds ${sum((r) => r.cleanOk)}/${sum((r) => r.cleanTotal)}`,
    );
  });
});
