// What a scope costs per unit of async work on the running Node release: a trivial async
// operation alone, with AsyncLocalStorage active, inside AsyncLocalStorage.run() with one
// getStore(), and inside the library's scope() with one getScope(). Nanoseconds per operation
// are the figure to compare; "+ns" is the cost over the first row. Run it under every release
// with bench/node-versions.sh (npm run bench).
//
//   node --import tsx bench/als-cost.ts [--json]
import { AsyncLocalStorage } from 'node:async_hooks';
import { getScope, scope } from '@knex-scopes/core';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const als = new AsyncLocalStorage<{ tenant: number }>();
const store = { tenant: 1 };
let sink: unknown;

// The unit of work: one async function with one await, like a handler awaiting a query.
async function work(): Promise<number> {
  await null;
  return 1;
}

interface Case {
  name: string;
  op: () => Promise<unknown>;
  /** Runs the whole measurement inside an outer context (default: none). */
  around?: <T>(measure: () => Promise<T>) => Promise<T>;
}

// Order matters: the first case runs before any AsyncLocalStorage is used in the process.
// On async_hooks releases the first run() turns promise hooks on for good, and from then on every
// promise pays, scoped or not: the second case shows that tax.
const cases: Case[] = [
  { name: 'async op, no ALS yet', op: work },
  { name: 'async op, inside one run', op: work, around: (measure) => als.run(store, measure) },
  {
    name: 'als.run + getStore',
    op: () =>
      als.run(store, () => {
        sink = als.getStore();
        return work();
      }),
  },
  {
    name: 'scope() + getScope',
    op: () =>
      scope({ tenant: 1 }, () => {
        sink = getScope();
        return work();
      }),
  },
  {
    name: 'nested scope() + getScope',
    op: () =>
      scope({ tenant: 1 }, () =>
        scope({ user: 'u1' }, () => {
          sink = getScope();
          return work();
        }),
      ),
  },
];

/** Operations per second over one round, awaited one after another. */
async function round(op: () => Promise<unknown>): Promise<number> {
  const deadline = process.hrtime.bigint() + BigInt(ROUND_MS) * 1_000_000n;
  const start = process.hrtime.bigint();
  let ops = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) await op();
    ops += 1000;
    now = process.hrtime.bigint();
  }
  return (ops * 1e9) / Number(now - start);
}

async function measure(op: () => Promise<unknown>): Promise<number> {
  await round(op); // warm-up: let the JIT settle
  const results: number[] = [];
  for (let i = 0; i < ROUNDS; i++) results.push(await round(op));
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)] ?? 0; // median
}

async function main(): Promise<void> {
  const rows: { name: string; opsPerSec: number; nsPerOp: number; overheadNs: number }[] = [];
  let baseline = 0;
  for (const { name, op, around } of cases) {
    const opsPerSec = await (around ? around(() => measure(op)) : measure(op));
    const nsPerOp = 1e9 / opsPerSec;
    if (rows.length === 0) baseline = nsPerOp;
    rows.push({ name, opsPerSec, nsPerOp, overheadNs: nsPerOp - baseline });
  }
  void sink;
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ node: process.version, rows }));
    return;
  }
  console.log(`Node ${process.version}: median of ${ROUNDS} rounds of ${ROUND_MS} ms`);
  for (const row of rows) {
    console.log(
      `  ${row.name.padEnd(28)} ${Math.round(row.opsPerSec).toLocaleString('en-US').padStart(11)} ops/s` +
        `  ${row.nsPerOp.toFixed(0).padStart(6)} ns/op  +${Math.max(0, row.overheadNs).toFixed(0).padStart(5)} ns`,
    );
  }
}

void main();
