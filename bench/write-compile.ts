// Node-side cost of a one-row FK-path write, without a database: µs per build + toSQL() of
// `insert({ page_id, body })` and `where('id', 1).update({ page_id })` into comments
// (`page_id -> pages.tenant_id`), through plain Knex, through plain Knex with the parent check
// written by hand (a raw statement, what bench:writes calls hand-checked), and through the scoped
// instance, whose statement for such a write is compiled once per shape (write-cache.ts).
// Interleaved rounds, median µs per op. A script that prints numbers, never a test.
// Usage: tsx bench/write-compile.ts [--quick]
import { defineScopes, scope } from '@knex-scopes/core';
import knexFactory from 'knex';

const quick = process.argv.includes('--quick');
const N = quick ? 5_000 : 50_000;
const ROUNDS = quick ? 5 : 9;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function time(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / N;
}

function main(): void {
  console.log(
    `write compile bench: build + toSQL(), Node ${process.version}, ${N} ops x ${ROUNDS} rounds (median µs/op)`,
  );
  console.log('| dialect | write | plain Knex | hand-checked | scoped | scoped − plain |');
  console.log('|---|---|---|---|---|---|');
  for (const client of ['pg', 'mysql2', 'better-sqlite3']) {
    const base = knexFactory({ client, useNullAsDefault: true });
    const db = defineScopes({
      tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
    }).wrap(base);
    const dual = client === 'mysql2' ? ' from dual' : '';
    let n = 0;
    const page = () => 1 + 2 * (n++ % 10);
    const cases = [
      {
        name: 'insert comments (FK path)',
        plain: () => base('comments').insert({ page_id: page(), body: 'c' }).toSQL(),
        hand: () =>
          base
            .raw(
              `insert into comments (body, page_id) select ?, ?${dual} where exists (select 1 from pages where pages.id = ? and pages.tenant_id = ?)`,
              ['c', page(), 1, 1],
            )
            .toSQL(),
        scoped: () => db('comments').insert({ page_id: page(), body: 'c' }).toSQL(),
      },
      {
        name: 'update comments.page_id by id (FK path)',
        plain: () => base('comments').where('id', 1).update({ page_id: page() }).toSQL(),
        hand: () => {
          const p = page();
          return base
            .raw(
              'update comments set page_id = ? where id = ? and page_id in (select id from pages where tenant_id = ?) ' +
                'and exists (select 1 from pages where pages.id = ? and pages.tenant_id = ?)',
              [p, 1, 1, p, 1],
            )
            .toSQL();
        },
        scoped: () => db('comments').where('id', 1).update({ page_id: page() }).toSQL(),
      },
    ];
    scope({ tenant: 1 }, () => {
      for (const c of cases) {
        const ms = { plain: [] as number[], hand: [] as number[], scoped: [] as number[] };
        time(c.plain);
        time(c.hand);
        time(c.scoped); // warm-up
        for (let r = 0; r < ROUNDS; r++) {
          // interleaved so drift on a shared machine hits all three alike
          ms.plain.push(time(c.plain));
          ms.hand.push(time(c.hand));
          ms.scoped.push(time(c.scoped));
        }
        const [plain, hand, scoped] = [median(ms.plain), median(ms.hand), median(ms.scoped)];
        const delta = scoped - plain;
        console.log(
          `| ${client} | ${c.name} | ${plain.toFixed(2)} | ${hand.toFixed(2)} | ${scoped.toFixed(2)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} µs |`,
        );
      }
    });
    void base.destroy();
  }
}

if (require.main === module) main();
