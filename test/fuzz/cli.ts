// `npm run fuzz -- [--cases N] [--seed S] [--dialects sqlite,pg,mysql]`: the long differential
// run (N cases per dialect, 10 000 by default), through mocha so it gets the test databases.
import { integerOptions, runSpec } from './long-run';

const USAGE = 'usage: npm run fuzz -- [--cases N] [--seed S] [--dialects sqlite,pg,mysql]';
const { values, dialects } = integerOptions(
  process.argv.slice(2),
  { cases: 10_000, seed: Date.now() % 2 ** 31 },
  USAGE,
);
console.log(`[fuzz] ${values.cases} cases per dialect, seed ${values.seed}${dialects ? `, dialects ${dialects}` : ''}`);
runSpec('test/fuzz/differential.test.ts', {
  FUZZ_CASES: String(values.cases),
  FUZZ_SEED: String(values.seed),
  ...(dialects ? { KNEX_SCOPES_DIALECTS: dialects } : {}),
});
