// Every variant in ONE process, each with copies of its own of the framework, Knex and
// @knex-scopes/* (so V8 keeps separate feedback and code per variant), loaded in turns by a
// keep-alive client in the same process. It answers one question the per-process harness
// cannot: is a gap between variants their code, or the luck of separate processes (code
// placement, JIT decisions)? Here every variant shares the process, so that luck is common.
// The CPU per request includes the client's share, equal for all: read the difference in µs,
// not the ratio, against the target. A script that prints numbers, never a test.
// Usage: npm run bench:same-process -- [--framework fastify] [--rounds 15] [--requests 2500] [variants…]
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import type * as AppsModule from './apps';
import { type Framework, VARIANTS, type Variant } from './apps';
import { balancedOrder, countOption, createDatabase, keepAliveClient, median, sqliteDatabase } from './harness';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => countOption(args, name, fallback);
const framework = (args.includes('--framework') ? args[args.indexOf('--framework') + 1] : 'fastify') as Framework;
if (!['express', 'koa', 'fastify'].includes(framework)) throw new Error(`unknown framework ${framework}`);
const ROUNDS = option('--rounds', 15);
const REQUESTS = option('--requests', 2500);
const named = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const variants = (named.length > 0 ? named : ['als', 'adapter', 'als-again']) as Variant[];
for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}`);
if (variants.length < 2) throw new Error('name two variants or more: the first is the baseline');
const CONCURRENCY = 8;

// A native addon cannot be loaded twice into one process: better-sqlite3 stays shared.
function freshRequire<T>(id: string): T {
  for (const key of Object.keys(require.cache)) {
    if (key.includes('better-sqlite3') || key.includes('bindings') || key.includes('file-uri-to-path')) continue;
    if (key.includes('/node_modules/') || key.includes('/packages/') || key.endsWith('/bench/http/apps.ts')) {
      delete require.cache[key];
    }
  }
  return require(id) as T;
}

interface Served {
  readonly server: Server;
  readonly knex: Knex;
  readonly port: number;
}

async function serve(variant: Variant, config: Knex.Config): Promise<Served> {
  const knexFactory = freshRequire<{ default: (c: Knex.Config) => Knex }>('knex');
  const apps = require('./apps') as typeof AppsModule;
  const knex = (knexFactory.default ?? (knexFactory as unknown as (c: Knex.Config) => Knex))(config);
  const handler = await apps.buildHandler(framework, variant, knex);
  const server = createServer(handler);
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, knex, port: (server.address() as AddressInfo).port };
}

const client = keepAliveClient(CONCURRENCY);
const batch = client.batch;

async function main(): Promise<void> {
  const db = sqliteDatabase();
  await createDatabase(db.config);
  const served: Served[] = [];
  try {
    // Built one after the other, each warmed up at once, so that lazily loaded modules belong
    // to the variant that loaded them.
    for (const variant of variants) {
      served.push(await serve(variant === 'als-again' ? 'als' : variant, db.config));
      await batch((served.at(-1) as Served).port, 1000);
    }
    console.log(
      `same process, ${framework}, Node ${process.version}: ${ROUNDS} rounds of ${REQUESTS} requests per variant, ` +
        `${CONCURRENCY} keep-alive connections, CPU of the whole process (server and client)`,
    );
    const cpu = variants.map((): number[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      // every variant takes every place and follows every other one alike (harness.ts)
      for (const i of balancedOrder(variants.length, round)) {
        const { port } = served[i] as Served;
        await batch(port, 300);
        const start = process.cpuUsage();
        await batch(port, REQUESTS);
        const used = process.cpuUsage(start);
        (cpu[i] as number[]).push((used.user + used.system) / REQUESTS);
      }
    }
    const base = cpu[0] as number[];
    console.log('  variant       CPU µs/req   − first, µs (quartiles of the rounds)   / first');
    const quartiles = (values: number[]): string => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q: number) => (sorted[Math.round(q * (sorted.length - 1))] as number).toFixed(1);
      return `(${at(0.25)} … ${at(0.75)})`;
    };
    variants.forEach((variant, i) => {
      const own = cpu[i] as number[];
      const diffs = own.map((x, r) => x - (base[r] as number));
      const diff = i === 0 ? '' : `${median(diffs).toFixed(2).padStart(7)} ${quartiles(diffs)}`;
      const ratio = i === 0 ? '' : median(own.map((x, r) => x / (base[r] as number))).toFixed(3);
      console.log(`  ${variant.padEnd(12)} ${median(own).toFixed(1).padStart(9)}   ${diff.padEnd(32)}${ratio}`);
    });
  } finally {
    client.close();
    for (const { server, knex } of served) {
      server.close();
      await knex.destroy();
    }
    db.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
