// What the bench/http scripts share: the database every server reads, the server processes
// (each on CPU 1 when the machine has two), their CPU counters and the load.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { AppOptions, Framework, Variant } from './apps';

// autocannon ships no types; this is the part used here.
const autocannon = require('autocannon') as (options: object) => Promise<{
  requests: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}>;

export const CONNECTIONS = 32;
const TENANTS = 50;
const slugs = Array.from({ length: TENANTS }, (_, i) => `tenant-${i + 1}`);

/** 50 tenants with 20 pages each. */
export async function createDatabase(config: Knex.Config): Promise<void> {
  const knex = knexFactory(config);
  await knex.schema.createTable('tenants', (t) => {
    t.integer('id').primary();
    t.string('slug').unique();
  });
  await knex.schema.createTable('pages', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable().index();
    t.string('title');
  });
  await knex('tenants').insert(slugs.map((slug, i) => ({ id: i + 1, slug })));
  const pages = slugs.flatMap((slug, i) =>
    Array.from({ length: 20 }, (_, p) => ({ tenant_id: i + 1, title: `${slug} ${p}` })),
  );
  for (let i = 0; i < pages.length; i += 200) await knex('pages').insert(pages.slice(i, i + 200));
  await knex.destroy();
}

/** A fresh SQLite file, removed by close(). */
export function sqliteDatabase(): { config: Knex.Config; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'knex-scopes-bench-'));
  const config = {
    client: 'better-sqlite3',
    connection: { filename: join(dir, 'bench.sqlite') },
    useNullAsDefault: true,
  };
  return { config, close: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * With two cores or more, the servers run on CPU 1 and this process (autocannon) on CPU 0, so
 * that the load generator never competes with the server it measures: the ratios then hold
 * within a percent or two between runs, where unpinned runs moved by several.
 */
export function pinLoadGenerator(): boolean {
  return (
    availableParallelism() >= 2 &&
    spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' }).status === 0
  );
}

export interface Running {
  readonly port: number;
  readonly child: ChildProcess;
}

/** How startServer runs a server besides its framework, variant and database. */
export interface ServerOptions {
  /** Pin it to CPU 1 (see pinLoadGenerator). */
  readonly pinned?: boolean;
  /** Arguments for its Node, e.g. --perf-basic-prof. */
  readonly nodeArgs?: readonly string[];
  /** A command that runs Node, e.g. valgrind and its options. */
  readonly prefix?: readonly string[];
  readonly app?: AppOptions;
}

/** One server (server.ts) in its own process. */
export function startServer(
  framework: Framework,
  variant: Variant,
  config: string,
  options: ServerOptions = {},
): Promise<Running> {
  const node = [
    ...(options.prefix ?? []),
    process.execPath,
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    join(__dirname, 'server.ts'),
    framework,
    variant,
    config,
    JSON.stringify(options.app ?? {}),
  ];
  const [command, ...rest] = options.pinned ? ['taskset', '-c', '1', ...node] : node;
  const child = spawn(command as string, rest, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${framework}/${variant} server exited with ${code}`)));
    child.stdout?.once('data', (line: Buffer) => resolve({ port: Number(String(line).trim()), child }));
  });
}

export function stopServers(servers: Iterable<Running>): void {
  for (const { child } of servers) {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
  }
}

/**
 * The server's own CPU time so far (µs; `user` without the kernel's) and the requests it has
 * served, asked over the IPC channel (server.ts says why not over HTTP).
 */
export function serverCpu(server: Running): Promise<{ cpu: number; user: number; served: number }> {
  return new Promise((resolve, reject) => {
    const { child } = server;
    // A server that died fails the run, as the refused HTTP probe did, rather than hanging it.
    const exited = (code: number | null) =>
      reject(new Error(`server ${child.pid} exited with ${code} before answering`));
    child.once('exit', exited);
    child.once('message', (message) => {
      child.off('exit', exited);
      resolve(message as { cpu: number; user: number; served: number });
    });
    child.send('cpu', (error) => {
      if (error) reject(error);
    });
  });
}

/** `seconds` of GET /pages from 32 connections, the tenants in turn; any failed request throws. */
export async function load(port: number, seconds: number) {
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/pages`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (req: { headers?: Record<string, string> }) => ({
          ...req,
          headers: { ...req.headers, 'x-tenant': slugs[next++ % TENANTS] },
        }),
      },
    ],
  });
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return result;
}

/**
 * A keep-alive client with `concurrency` connections: `batch(port, count)` sends `count`
 * GET /pages, the tenants in turn, and rejects on any status but 200.
 */
export function keepAliveClient(concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const request = (port: number, n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = get(
        { host: '127.0.0.1', port, path: '/pages', agent, headers: { 'x-tenant': slugs[n % TENANTS] } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
    });
  return {
    async batch(port: number, count: number): Promise<void> {
      let next = 0;
      const worker = async () => {
        while (next < count) await request(port, next++);
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    },
    close: () => agent.destroy(),
  };
}

/**
 * The order of turn `n` among `count` variants (their indices): the rows of a Williams square,
 * one per turn. Over a cycle of rows (`count` of them, twice that for an odd count) each variant
 * takes every place equally often and follows every other variant equally often. A rotation
 * gave each variant the same predecessor for a whole run, so whatever a server leaves behind on
 * the CPU after its window (its collector finishing, its cache lines) fell on the same
 * neighbour every time.
 */
export function balancedOrder(count: number, n: number): number[] {
  let rows = williamsRows.get(count);
  if (rows === undefined) {
    rows = williamsSquare(count);
    williamsRows.set(count, rows);
  }
  return rows[n % rows.length] as number[];
}

const williamsRows = new Map<number, number[][]>();

function williamsSquare(count: number): number[][] {
  if (count === 1) return [[0]];
  // Two variants: strict alternation is the only order without a repeat, and balanced already
  if (count === 2) return [[0, 1]];
  const first: number[] = [];
  for (let i = 0, low = 1, high = count - 1; i < count; i++) first.push(i === 0 ? 0 : i % 2 === 1 ? low++ : high--);
  const rows = first.map((_, r) => first.map((v) => (v + r) % count));
  if (count % 2 === 1) rows.push(...rows.map((row) => [...row].reverse()));
  // The rows in an order where no variant ends one turn and starts the next (also from the last
  // row back to the first): a server measured twice in a row finds its caches warm.
  const joins = (a: number[], b: number[]) => a[a.length - 1] !== b[0];
  const chain = [rows[0] as number[]];
  const used = new Set([0]);
  const extend = (): boolean => {
    if (chain.length === rows.length) return joins(chain[chain.length - 1] as number[], chain[0] as number[]);
    for (let i = 1; i < rows.length; i++) {
      if (used.has(i) || !joins(chain[chain.length - 1] as number[], rows[i] as number[])) continue;
      used.add(i);
      chain.push(rows[i] as number[]);
      if (extend()) return true;
      chain.pop();
      used.delete(i);
    }
    return false;
  };
  if (!extend()) throw new Error(`no order of ${count} variants without a repeat between turns`);
  return chain;
}

/** `--name <n>` among a script's arguments: a positive integer, or `fallback` when absent. */
export function countOption(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} takes a positive integer`);
  return value;
}

/**
 * A 95 % interval for the median of `values` (percentile bootstrap, 4 000 resamples, a fixed
 * seed so that a run prints the same interval every time it is computed): how far the median of
 * this many rounds could be from the one more rounds would give.
 */
export function medianInterval(values: readonly number[]): [number, number] {
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32: a small, fast generator, good enough to draw resamples
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians: number[] = [];
  for (let r = 0; r < 4000; r++) {
    medians.push(median(values.map(() => values[Math.floor(random() * values.length)] as number)));
  }
  medians.sort((a, b) => a - b);
  return [
    medians[Math.floor(0.025 * medians.length)] as number,
    medians[Math.ceil(0.975 * medians.length) - 1] as number,
  ];
}

/** The median of some values (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
