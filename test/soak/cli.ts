// `npm run soak -- [--requests N] [--rounds R]`: the fault-injected soak of the three adapters
// on PostgreSQL, longer than in `npm test` (10 000 requests per round, 3 rounds by default).
import { integerOptions, runSpec } from '../fuzz/long-run';

const USAGE = 'usage: npm run soak -- [--requests N] [--rounds R]';
const { values } = integerOptions(process.argv.slice(2), { requests: 10_000, rounds: 3 }, USAGE);
console.log(`[soak] ${values.requests} requests per round, ${values.rounds} round(s) per adapter`);
runSpec('test/soak/fault-soak.test.ts', {
  SOAK_REQUESTS: String(values.requests),
  SOAK_ROUNDS: String(values.rounds),
  KNEX_SCOPES_DIALECTS: 'pg',
});
