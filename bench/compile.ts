// Compile-time cost of scoping: µs per build + toSQL() for plain Knex, plain Knex with the same
// filter written by hand, and the scoped instance, interleaved in one run (median of rounds).
// A script that prints numbers, never a test. Usage: tsx bench/compile.ts [--quick]
import { defineScopes, scope } from '@knex-scopes/core';
import knexFactory from 'knex';

const quick = process.argv.includes('--quick');
const N = quick ? 5_000 : 50_000;
const ROUNDS = quick ? 5 : 9;

const base = knexFactory({ client: 'pg' });
const scoped = defineScopes({
  tables: {
    pages: { tenant: 'tenant_id' },
    comments: { tenant: 'page_id -> pages.tenant_id' },
  },
}).wrap(base);
const T = 7;

type Case = { name: string; plain: () => unknown; hand: () => unknown; scoped: () => unknown };
const cases: Case[] = [
  {
    name: 'select, direct column',
    plain: () => base('pages').where('id', 1).toSQL(),
    hand: () => base('pages').where('pages.tenant_id', T).where('id', 1).toSQL(),
    scoped: () => scoped('pages').where('id', 1).toSQL(),
  },
  {
    name: 'select, FK path (one hop)',
    plain: () => base('comments').where('id', 1).toSQL(),
    hand: () =>
      base('comments')
        .whereIn('comments.page_id', base('pages').select('pages.id').where('pages.tenant_id', T))
        .where('id', 1)
        .toSQL(),
    scoped: () => scoped('comments').where('id', 1).toSQL(),
  },
  {
    name: 'join direct + FK path',
    plain: () => base('comments as c').join('pages as p', 'p.id', 'c.page_id').select('c.body').toSQL(),
    hand: () =>
      base('comments as c')
        .join('pages as p', (j) => {
          j.on('p.id', '=', 'c.page_id').andOnVal('p.tenant_id', '=', T);
        })
        .whereIn('c.page_id', base('pages').select('pages.id').where('pages.tenant_id', T))
        .select('c.body')
        .toSQL(),
    scoped: () => scoped('comments as c').join('pages as p', 'p.id', 'c.page_id').select('c.body').toSQL(),
  },
  {
    name: 'unscoped table (fast path)',
    plain: () => base('tags').where('id', 1).toSQL(),
    hand: () => base('tags').where('id', 1).toSQL(),
    scoped: () => scoped('tags').where('id', 1).toSQL(),
  },
];

function time(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / N;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

export function runCompileBench(): Array<{ name: string; plain: number; hand: number; scoped: number }> {
  return scope({ tenant: T }, () => {
    const results = cases.map((c) => ({ c, plain: [] as number[], hand: [] as number[], scoped: [] as number[] }));
    for (const r of results) {
      time(r.c.plain);
      time(r.c.hand);
      time(r.c.scoped); // warm-up
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of results) {
        // interleaved so drift on a shared machine hits all three alike
        r.plain.push(time(r.c.plain));
        r.hand.push(time(r.c.hand));
        r.scoped.push(time(r.c.scoped));
      }
    }
    return results.map((r) => ({
      name: r.c.name,
      plain: median(r.plain),
      hand: median(r.hand),
      scoped: median(r.scoped),
    }));
  });
}

function main(): void {
  console.log(
    `compile bench: build + toSQL(), pg dialect, Node ${process.version}, ${N} ops x ${ROUNDS} rounds (median µs/op)`,
  );
  const rows = runCompileBench();
  console.log('| case | plain Knex | hand-written filter | scoped | scoped − hand-written |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const delta = r.scoped - r.hand;
    console.log(
      `| ${r.name} | ${r.plain.toFixed(2)} | ${r.hand.toFixed(2)} | ${r.scoped.toFixed(2)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} µs${delta <= 2 ? '' : ' (over the 2 µs target)'} |`,
    );
  }
}

if (require.main === module) main();
