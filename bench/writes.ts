// Cost of the write guards: one INSERT of 1, 100 and 1 000 rows, plain Knex vs the scoped
// instance, on SQLite in memory. Direct tenant column (stamping) and FK path (one extra
// verification query per statement). Interleaved rounds, median ms per statement.
// Usage: tsx bench/writes.ts [--quick]
import { defineScopes, scope } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 11;

async function setup(): Promise<{ base: Knex; db: Knex }> {
  const base = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  await base.schema.createTable('pages', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable();
    t.string('title');
  });
  await base.schema.createTable('comments', (t) => {
    t.increments('id');
    t.integer('page_id').notNullable();
    t.string('body');
  });
  await base('pages').insert(Array.from({ length: 20 }, (_, i) => ({ tenant_id: 1 + (i % 2), title: `p${i}` })));
  const db = defineScopes({
    tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
  }).wrap(base);
  return { base, db };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function time(fn: () => Promise<unknown>, repeat: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / repeat;
}

export async function runWriteBench(): Promise<Array<{ name: string; rows: number; plain: number; scoped: number }>> {
  const { base, db } = await setup();
  const out: Array<{ name: string; rows: number; plain: number; scoped: number }> = [];
  for (const rows of [1, 100, 1000]) {
    const repeat = rows === 1 ? 200 : rows === 100 ? 20 : 3;
    const chunk = 400; // Knex writes SQLite batches as one compound SELECT (at most 500 terms)
    const pages = Array.from({ length: rows }, (_, i) => ({ title: `n${i}` }));
    const comments = Array.from({ length: rows }, (_, i) => ({ page_id: 1 + 2 * (i % 10), body: `c${i}` }));
    const insert = (k: Knex, table: string, data: object[], stamp: boolean) => async () => {
      for (let i = 0; i < data.length; i += chunk) {
        const part = data.slice(i, i + chunk);
        await k(table).insert(stamp ? part.map((r) => ({ ...r, tenant_id: 1 })) : part);
      }
    };
    const cases = [
      {
        name: 'pages (stamped tenant)',
        plain: insert(base, 'pages', pages, true),
        scoped: insert(db, 'pages', pages, false),
      },
      {
        name: 'comments (FK path check)',
        plain: insert(base, 'comments', comments, false),
        scoped: insert(db, 'comments', comments, false),
      },
    ];
    for (const c of cases) {
      const plain: number[] = [];
      const scoped: number[] = [];
      await scope({ tenant: 1 }, async () => {
        await time(c.plain, 1);
        await time(c.scoped, 1);
        for (let r = 0; r < ROUNDS; r++) {
          plain.push(await time(c.plain, repeat));
          scoped.push(await time(c.scoped, repeat));
        }
      });
      out.push({ name: c.name, rows, plain: median(plain), scoped: median(scoped) });
    }
  }
  await base.destroy();
  return out;
}

async function main(): Promise<void> {
  console.log(
    `write bench: one INSERT statement (chunks of 400 on SQLite), better-sqlite3 in memory, Node ${process.version}, median of ${ROUNDS} rounds`,
  );
  console.log('| table | rows | plain ms | scoped ms | scoped / plain |');
  console.log('|---|---|---|---|---|');
  for (const r of await runWriteBench()) {
    console.log(
      `| ${r.name} | ${r.rows} | ${r.plain.toFixed(3)} | ${r.scoped.toFixed(3)} | ${(r.scoped / r.plain).toFixed(2)}× |`,
    );
  }
}

if (require.main === module) void main();
