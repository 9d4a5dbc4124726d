// Instructions per request, counted by valgrind (callgrind), for each variant's server: a count
// that does not move with the machine's load, the CPU's frequency or a neighbour's VM, so it
// tells whether a variant does more work, where CPU time only says it took longer. It does not
// see what makes the same instructions slower (cache misses, mispredicted branches, the kernel):
// read it beside bench:http, never instead of it. A script that prints numbers, never a test.
// Usage: npm run bench:instructions -- [--framework fastify] [--warm 30000] [--requests 3000] [--connections 8]
//        [--symbols 25] [--cache-sim] [--keep] [variants…]
//   --symbols: the functions whose instructions differ most from the baseline's
//   --cache-sim: simulated cache misses and mispredicted branches per request as well
//   --keep: leave each server's callgrind file and perf map in the temporary directory (paths printed)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Framework, VARIANTS, type Variant } from './apps';
import {
  countOption,
  createDatabase,
  keepAliveClient,
  type Running,
  sqliteDatabase,
  startServer,
  stopServers,
} from './harness';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => countOption(args, name, fallback);
const only = args.includes('--framework') ? args[args.indexOf('--framework') + 1] : undefined;
const FRAMEWORKS = (['express', 'koa', 'fastify'] as Framework[]).filter((f) => !only || f === only);
if (FRAMEWORKS.length === 0) throw new Error(`unknown framework ${only}`);
// Uninstrumented (valgrind's core alone, several times faster than callgrind). V8 must be done
// optimising by then: at 12 000 requests Express and Koa still compiled (up to 15 000
// instructions per request, moving their counts by 3 %), at 30 000 none did.
const WARM = option('--warm', 30_000);
const REQUESTS = option('--requests', 3_000);
const CONNECTIONS = option('--connections', 8);
/** Issue 24's target: the adapter variant at most 1.03× the instructions per request of hand-written + ALS. */
const INSTRUCTION_BUDGET = 1.03;
// Simulated caches and branch predictor (valgrind's model of this CPU, not the CPU itself): what
// could make the same instructions slower. About twice as slow.
const CACHE_SIM = args.includes('--cache-sim');
const KEEP = args.includes('--keep');
const SYMBOLS = args.includes('--symbols') ? option('--symbols', 20) : 0;
const WITH_VALUE = ['--framework', '--warm', '--requests', '--connections', '--symbols'];
const named = args.filter((a, i) => !a.startsWith('--') && !WITH_VALUE.includes(args[i - 1] ?? ''));
const variants = (named.length > 0 ? named : ['als', 'adapter']) as Variant[];
for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}`);

function requireValgrind(): void {
  for (const tool of ['valgrind', 'callgrind_control']) {
    const found = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (found.error || found.status !== 0) {
      console.error(`${tool} not found: install valgrind (Debian: apt-get install valgrind).`);
      process.exit(1);
    }
  }
}

interface Counted {
  readonly framework: Framework;
  readonly variant: Variant;
  /** All instructions of the server per request, and those in @knex-scopes/* and in V8's optimising compiler. */
  readonly perRequest: number;
  readonly library: number;
  readonly compiler: number;
  /** Instructions per request by function (JIT code by its perf-map name). */
  readonly bySymbol: Map<string, number>;
  /** With --cache-sim: every event callgrind counted (Ir, I1mr, D1mr, Bcm…), per request. */
  readonly events: Map<string, number>;
}

interface JitCode {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/**
 * JIT code by address, from the map Node writes with --perf-basic-prof. Code that is collected
 * leaves its line behind and its address to later code: the later line wins, and code that a
 * later one overlaps is dropped.
 */
function jitCode(file: string): JitCode[] {
  const created: JitCode[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!m) continue;
    const start = Number.parseInt(m[1] as string, 16);
    created.push({ start, end: start + Number.parseInt(m[2] as string, 16), name: m[3] as string });
  }
  const taken: JitCode[] = []; // sorted by start, non-overlapping: what later lines claimed
  for (let i = created.length - 1; i >= 0; i--) {
    const c = created[i] as JitCode;
    let lo = 0; // the first taken code that starts at or after c
    let hi = taken.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((taken[mid] as JitCode).start < c.start) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && (taken[lo - 1] as JitCode).end > c.start) continue; // a later one covers its start
    if (lo < taken.length && (taken[lo] as JitCode).start < c.end) continue; // a later one inside it
    taken.splice(lo, 0, c);
  }
  return taken;
}

function codeAt(code: JitCode[], address: number): JitCode | undefined {
  let lo = 0;
  let hi = code.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = code[mid] as JitCode;
    if (address < c.start) hi = mid - 1;
    else if (address >= c.end) lo = mid + 1;
    else return c;
  }
  return undefined;
}

/**
 * Self instructions per function of a callgrind file (its name compression undone; the line
 * after `calls=` is the callee's inclusive cost, not the caller's own), JIT code named through
 * the perf map: what @knex-scopes/* and V8's optimising compiler executed, and the total.
 */
function instructionsIn(
  file: string,
  code: JitCode[],
): { total: number; library: number; compiler: number; bySymbol: Map<string, number>; events: Map<string, number> } {
  const names = new Map<string, string>();
  let fn = '';
  let afterCall = false;
  let total = 0;
  let library = 0;
  let compiler = 0;
  const own = new Map<string, number>();
  const events = new Map<string, number>();
  let eventNames: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('events: ')) eventNames = line.slice(8).trim().split(' ');
    if (line.startsWith('summary: ') || line.startsWith('totals: ')) {
      const values = line
        .slice(line.indexOf(':') + 1)
        .trim()
        .split(' ');
      for (const [i, name] of eventNames.entries()) events.set(name, Number(values[i] ?? 0));
    }
    const named = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line);
    if (named) {
      if (named[2] !== undefined) names.set(named[1] as string, named[2]);
      if (line.startsWith('fn=')) fn = names.get(named[1] as string) ?? '';
      continue;
    }
    if (line.startsWith('calls=')) {
      afterCall = true;
      continue;
    }
    if (!/^[0-9+*-]/.test(line)) continue;
    if (afterCall) {
      afterCall = false;
      continue;
    }
    const cost = Number(line.split(' ')[1] ?? 0);
    own.set(fn, (own.get(fn) ?? 0) + cost);
  }
  const bySymbol = new Map<string, number>();
  for (const [name, cost] of own) {
    total += cost;
    const address = /^0x([0-9a-f]+)/.exec(name);
    const symbol = address ? (codeAt(code, Number.parseInt(address[1] as string, 16))?.name ?? '(JIT code)') : name;
    bySymbol.set(symbol, (bySymbol.get(symbol) ?? 0) + cost);
    if (symbol.includes('/packages/') && symbol.includes('/dist/')) library += cost;
    else if (symbol.includes('v8::internal::compiler::')) compiler += cost;
  }
  return { total, library, compiler, bySymbol, events };
}

async function count(framework: Framework, variant: Variant, config: string): Promise<Counted> {
  const out = join(tmpdir(), `knex-scopes-callgrind-${process.pid}-${framework}-${variant}`);
  const server: Running = await startServer(framework, variant, config, {
    prefix: [
      'valgrind',
      '--quiet',
      '--tool=callgrind',
      '--instr-atstart=no', // counted from the switch below on: warm-up and start-up excluded
      '--smc-check=all-non-file', // V8 writes the code it runs
      `--callgrind-out-file=${out}`,
      ...(CACHE_SIM ? ['--cache-sim=yes', '--branch-sim=yes'] : []),
    ],
    // One thread: no concurrent compiler or GC threads whose share would depend on timing.
    // The perf map names the JIT code callgrind sees only as addresses.
    // Code space is not compacted, so that the map's addresses stay those of the code.
    nodeArgs: ['--single-threaded', '--perf-basic-prof', '--no-compact-code-space'],
    // Under valgrind a minute passes within a few thousand requests: the cache must not expire
    // mid-count (it never does within a bench:http round, nor does the hand variants' cache).
    app: { lookupTtl: 3_600_000 },
  });
  const client = keepAliveClient(CONNECTIONS);
  try {
    await client.batch(server.port, WARM);
    const on = spawnSync('callgrind_control', ['--instr=on', String(server.child.pid)], { encoding: 'utf8' });
    if (on.status !== 0) throw new Error(`callgrind_control failed: ${on.stderr || on.stdout}`);
    await client.batch(server.port, REQUESTS);
  } finally {
    client.close();
    stopServers([server]); // SIGTERM: the server exits, and callgrind writes its counts
    await new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  }
  const map = `/tmp/perf-${server.child.pid}.map`;
  const counts = instructionsIn(out, jitCode(map));
  if (KEEP) console.error(`${framework}/${variant}: kept ${out} and ${map}`);
  else {
    rmSync(out, { force: true });
    rmSync(map, { force: true });
  }
  return {
    framework,
    variant,
    perRequest: counts.total / REQUESTS,
    library: counts.library / REQUESTS,
    compiler: counts.compiler / REQUESTS,
    bySymbol: new Map([...counts.bySymbol].map(([name, n]) => [name, n / REQUESTS])),
    events: new Map([...counts.events].map(([name, n]) => [name, n / REQUESTS])),
  };
}

async function main(): Promise<void> {
  requireValgrind();
  const db = sqliteDatabase();
  try {
    await createDatabase(db.config);
    const config = JSON.stringify(db.config);
    const jobs = FRAMEWORKS.flatMap((framework) => variants.map((variant) => ({ framework, variant })));
    const results: Counted[] = [];
    // One server per core at a time: counts do not depend on sharing the CPU, only time does.
    const parallel = Math.max(1, availableParallelism());
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as (typeof jobs)[number];
        results.push(await count(job.framework, job.variant, config));
      }
    };
    console.log(
      `instructions per request (callgrind), Node ${process.version}, SQLite: ${REQUESTS} requests counted ` +
        `after ${WARM} uncounted, ${CONNECTIONS} keep-alive connections; the server only (the client runs outside valgrind)`,
    );
    await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
    for (const framework of FRAMEWORKS) {
      const own = (v: Variant) => results.find((r) => r.framework === framework && r.variant === v) as Counted;
      const base = own(variants.includes('als') ? 'als' : (variants[0] as Variant));
      console.log(
        `\n${framework}       per request   − ${base.variant.padEnd(8)} / ${base.variant.padEnd(6)} @knex-scopes  V8 compiler`,
      );
      for (const v of variants) {
        const r = own(v);
        const diff = r === base ? '' : (r.perRequest - base.perRequest).toFixed(0);
        const ratio = r === base ? '' : (r.perRequest / base.perRequest).toFixed(3);
        console.log(
          `  ${v.padEnd(13)} ${r.perRequest.toFixed(0).padStart(10)} ${diff.padStart(11)} ${ratio.padStart(9)} ` +
            `${r.library.toFixed(0).padStart(13)} ${r.compiler.toFixed(0).padStart(12)}`,
        );
      }
      const adapter = variants.includes('adapter') && base.variant === 'als' ? own('adapter') : undefined;
      if (adapter) {
        // issue 24's target: the library's work over hand-written + ALS, at most 1.03× in instructions
        const r = adapter.perRequest / base.perRequest;
        console.log(
          `  target adapter/als ≤ ${INSTRUCTION_BUDGET}: ${r.toFixed(3)}, ${r <= INSTRUCTION_BUDGET ? 'met' : 'NOT met'}`,
        );
      }
      for (const v of CACHE_SIM ? variants : []) {
        const e = own(v).events;
        const sum = (...names: string[]) => names.reduce((n, name) => n + (e.get(name) ?? 0), 0).toFixed(0);
        console.log(
          `  ${v.padEnd(13)} misses per request: L1 instruction ${sum('I1mr')}, L1 data ${sum('D1mr', 'D1mw')}, ` +
            `last level ${sum('ILmr', 'DLmr', 'DLmw')}; mispredicted branches ${sum('Bcm', 'Bim')} of ${sum('Bc', 'Bi')}`,
        );
      }
      for (const v of SYMBOLS > 0 ? variants : []) {
        const r = own(v);
        if (r === base) continue;
        const names = new Set([...r.bySymbol.keys(), ...base.bySymbol.keys()]);
        const diffs = [...names].map((n) => [n, (r.bySymbol.get(n) ?? 0) - (base.bySymbol.get(n) ?? 0)] as const);
        diffs.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
        console.log(`  ${v} − ${base.variant}, the ${SYMBOLS} functions that differ most (instructions per request):`);
        for (const [name, d] of diffs.slice(0, SYMBOLS))
          console.log(`    ${d.toFixed(0).padStart(7)}  ${name.slice(0, 110)}`);
      }
    }
  } finally {
    db.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
