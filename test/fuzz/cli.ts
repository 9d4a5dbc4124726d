// `npm run fuzz -- [--cases N] [--seed S] [--dialects sqlite,pg,mysql]`: the long differential
// run (N cases per dialect, 10 000 by default), through mocha so it gets the test databases.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const USAGE = 'usage: npm run fuzz -- [--cases N] [--seed S] [--dialects sqlite,pg,mysql]';

function parse(argv: readonly string[]): { cases: number; seed: number; dialects?: string } {
  const options: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const match = /^--(cases|seed|dialects)(?:=(.*))?$/.exec(arg);
    if (match) options[match[1]!] = match[2] ?? argv[++i] ?? '';
    else positional.push(arg);
  }
  const cases = Number(options.cases ?? positional[0] ?? 10_000);
  const seed = Number(options.seed ?? positional[1] ?? Date.now() % 2 ** 31);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
    console.error(USAGE);
    process.exit(2);
  }
  return { cases, seed, ...(options.dialects ? { dialects: options.dialects } : {}) };
}

const { cases, seed, dialects } = parse(process.argv.slice(2));
const root = join(__dirname, '..', '..');
console.log(`[fuzz] ${cases} cases per dialect, seed ${seed}${dialects ? `, dialects ${dialects}` : ''}`);
const result = spawnSync(
  'npx',
  ['mocha', '--config', 'scripts/mocharc-subset.cjs', 'test/fuzz/differential.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      FUZZ_CASES: String(cases),
      FUZZ_SEED: String(seed),
      ...(dialects ? { KNEX_SCOPES_DIALECTS: dialects } : {}),
    },
  },
);
process.exit(result.status ?? 1);
