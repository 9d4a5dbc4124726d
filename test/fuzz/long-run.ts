// Shared by `npm run fuzz` and `npm run soak`: read `--name value` options (or positionals),
// then run one spec file through mocha with the repository's setup and the options as env.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Integer options by name; positionals fill them in order. Exits with the usage on bad input. */
export function integerOptions(
  argv: readonly string[],
  defaults: Readonly<Record<string, number>>,
  usage: string,
): { values: Record<string, number>; dialects?: string } {
  const names = Object.keys(defaults);
  const given: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (match) given[match[1]!] = match[2] ?? argv[++i] ?? '';
    else positional.push(arg);
  }
  const values: Record<string, number> = {};
  for (const [i, name] of names.entries()) {
    const value = Number(given[name] ?? positional[i] ?? defaults[name]);
    if (!Number.isInteger(value) || value < 0) {
      console.error(usage);
      process.exit(2);
    }
    values[name] = value;
  }
  return { values, ...(given.dialects ? { dialects: given.dialects } : {}) };
}

/** Runs one spec with mocha (the subset config: only that file); exits with mocha's status. */
export function runSpec(spec: string, env: Readonly<Record<string, string>>): never {
  const result = spawnSync('npx', ['mocha', '--config', 'scripts/mocharc-subset.cjs', spec], {
    cwd: join(__dirname, '..', '..'),
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  process.exit(result.status ?? 1);
}
