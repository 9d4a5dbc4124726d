// Where one variant's extra CPU per request goes: the variants' servers (apps.ts) side by side
// under Linux `perf record`, loaded in alternating 1 s windows so that the machine's own noise
// hits them alike; prints each one's CPU per request, its samples per 1 000 requests by binary
// (V8 and Node, JIT code, kernel, SQLite, libc) and the symbols that differ most from the first.
// A diagnostic script, never a test; needs `perf` (Debian: linux-perf) and software events.
// Usage: npm run bench:profile [-- --framework fastify] [-- --windows 25] [-- als adapter knex]
// (variants: apps.ts; the first is the baseline)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Framework, VARIANTS as KNOWN, type Variant } from './apps';
import {
  balancedOrder,
  createDatabase,
  load,
  pinLoadGenerator,
  type Running,
  serverCpu,
  sqliteDatabase,
  startServer,
  stopServers,
} from './harness';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  args.includes(name) ? String(args[args.indexOf(name) + 1]) : fallback;
const FRAMEWORK = option('--framework', 'fastify') as Framework;
const WINDOWS = Number(option('--windows', '25'));
if (!Number.isInteger(WINDOWS) || WINDOWS < 1) throw new Error('--windows takes a whole number of windows, 1 or more');
const named = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (named.length === 1) throw new Error(`name two or more variants to compare, not only ${named[0]}`);
const VARIANTS = (named.length > 0 ? named : ['als', 'adapter']) as Variant[];
for (const v of VARIANTS) {
  if (!(KNOWN as readonly string[]).includes(v))
    throw new Error(`unknown variant ${v}: name two or more of ${KNOWN.join(', ')}`);
}
if (!['express', 'koa', 'fastify'].includes(FRAMEWORK))
  throw new Error(`--framework takes express, koa or fastify, not ${FRAMEWORK}`);
const WARMUP_WINDOWS = 12;
const TOP = 25;

interface Counts {
  readonly byBinary: Map<string, number>;
  readonly bySymbol: Map<string, number>;
}

const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);

/** `perf report` lines: `  0.22%   270   22015:node   node   [.] symbol`, per process. */
function readReport(file: string, pids: readonly number[]): Map<number, Counts> {
  const report = spawnSync(
    'perf',
    ['report', '-i', file, '--no-children', '-n', '--sort', 'pid,dso,sym', '-g', 'none'],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    },
  );
  const counts = new Map(pids.map((pid) => [pid, { byBinary: new Map(), bySymbol: new Map() } as Counts]));
  for (const line of report.stdout.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(\d+):\S+\s+(\S.*?)\s{2,}\[.\]\s+(.*)$/.exec(line);
    const c = m && counts.get(Number(m[2]));
    if (!m || !c) continue;
    const binary = (m[3] as string).startsWith('[JIT]') ? 'JIT code' : (m[3] as string);
    add(c.byBinary, binary, Number(m[1]));
    add(c.bySymbol, (m[4] as string).trim().replace(/0x[0-9a-f]+/g, '…'), Number(m[1]));
  }
  return counts;
}

async function main(): Promise<void> {
  if (spawnSync('perf', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('bench:profile needs Linux perf on the PATH (Debian: apt-get install linux-perf).');
  }
  const pinned = pinLoadGenerator();
  const database = sqliteDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'knex-scopes-profile-'));
  const servers: Running[] = [];
  try {
    await createDatabase(database.config);
    const config = JSON.stringify(database.config);
    for (const v of VARIANTS)
      servers.push(await startServer(FRAMEWORK, v, config, { pinned, nodeArgs: ['--perf-basic-prof'] }));
    const turn = (n: number) => balancedOrder(servers.length, n).map((i) => servers[i] as Running);
    // Probed once first: the probe's one-time deoptimisations (server.ts) then fall in the warm-up.
    await Promise.all(servers.map((s) => serverCpu(s)));
    for (let w = 0; w < WARMUP_WINDOWS; w++) for (const s of turn(w)) await load(s.port, 1);
    const before = await Promise.all(servers.map((s) => serverCpu(s)));
    const file = join(dir, 'perf.data');
    const pids = servers.map((s) => s.child.pid as number);
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '2000', '-p', pids.join(','), '-o', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // Listened to from the start: perf may exit early (no permission to attach), and then its
    // exit must not be waited for a second time.
    const exited = new Promise<number | null>((resolve) => perf.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500)); // perf attaches
    for (let w = 0; w < WINDOWS; w++) for (const s of turn(w)) await load(s.port, 1);
    perf.kill('SIGINT');
    await exited;
    const after = await Promise.all(servers.map((s) => serverCpu(s)));
    const served = servers.map((_, i) => (after[i]?.served ?? 0) - (before[i]?.served ?? 0));
    const cpuUs = servers.map((_, i) => ((after[i]?.cpu ?? 0) - (before[i]?.cpu ?? 0)) / (served[i] as number));
    const counts = readReport(file, pids);
    const empty = pids.filter((pid) => (counts.get(pid)?.byBinary.size ?? 0) === 0);
    if (empty.length > 0) {
      throw new Error(
        `perf recorded no samples of ${empty.length} server(s): is perf allowed to attach (kernel.perf_event_paranoid)?`,
      );
    }
    // samples per 1 000 requests: at 2 000 Hz one sample is 500 µs, so 2 per 1 000 is 1 µs a request
    const per = (i: number, map: 'byBinary' | 'bySymbol', key: string) =>
      ((counts.get(pids[i] as number)?.[map].get(key) ?? 0) * 1000) / (served[i] as number);

    console.log(`bench:profile ${FRAMEWORK}, Node ${process.version}, ${WINDOWS} windows of 1 s each, SQLite`);
    console.log('  variant      requests   CPU µs/request   × first');
    VARIANTS.forEach((v, i) => {
      const ratio = (cpuUs[i] as number) / (cpuUs[0] as number);
      console.log(
        `  ${v.padEnd(11)} ${String(served[i]).padStart(9)}   ${(cpuUs[i] as number).toFixed(1).padStart(14)}   ${ratio.toFixed(3)}`,
      );
    });
    const keys = (map: 'byBinary' | 'bySymbol') => [
      ...new Set(pids.flatMap((p) => [...(counts.get(p)?.[map].keys() ?? [])])),
    ];
    const columns = (map: 'byBinary' | 'bySymbol', key: string) =>
      VARIANTS.map((v, i) => ` ${per(i, map, key).toFixed(2).padStart(Math.max(8, v.length))}`).join('');
    const title = 'samples per 1 000 requests (2 = 1 µs a request)';
    console.log(`\n  ${title.padEnd(48)}${VARIANTS.map((v) => ` ${v.padStart(8)}`).join('')}`);
    for (const key of keys('byBinary').sort((a, b) => per(0, 'byBinary', b) - per(0, 'byBinary', a))) {
      console.log(`  ${key.slice(0, 48).padEnd(48)}${columns('byBinary', key)}`);
    }
    for (let i = 1; i < VARIANTS.length; i++) {
      const diff = (key: string) => per(i, 'bySymbol', key) - per(0, 'bySymbol', key);
      const top = keys('bySymbol')
        .sort((a, b) => diff(b) - diff(a))
        .slice(0, TOP);
      console.log(`\n  symbols ${VARIANTS[i]} spends most more on than ${VARIANTS[0]} (samples per 1 000 requests)`);
      for (const key of top)
        console.log(`  ${diff(key) >= 0 ? '+' : ''}${diff(key).toFixed(2).padStart(6)}  ${key.slice(0, 110)}`);
    }
  } finally {
    stopServers(servers);
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
