// The static Citus router check itself (router-check.ts), on hand-written statements: what it
// accepts, what it rejects, and why.
import assert from 'node:assert/strict';
import { loadParser } from './pg-ast';
import { checkRouterSql, type RouterRules, rulesFor } from './router-check';

const TABLES = {
  orders: { tenant: 'tenant_id' },
  items: { tenant: 'tenant_id' },
  pages: { tenant: 'tenant_id' },
  comments: { tenant: 'page_id -> pages.tenant_id' },
  tasks: { tenant: 'tenant_id', user: 'user_id' },
} as const;

const rules = rulesFor(TABLES, { tenant: 7 });

/** The problems found, as `alias: problem`. */
function problems(sql: string, bindings: readonly unknown[] = [7, 7, 7, 7], with_: RouterRules = rules): string[] {
  return checkRouterSql(sql, bindings, with_).map((f) => `${f.alias}: ${f.problem}`);
}

function accepts(sql: string, bindings?: readonly unknown[], with_?: RouterRules): void {
  assert.deepEqual(problems(sql, bindings, with_), [], sql);
}

function rejects(sql: string, expected: RegExp, bindings?: readonly unknown[], with_?: RouterRules): void {
  const found = problems(sql, bindings, with_);
  assert.ok(found.length > 0, `accepted, expected a finding: ${sql}`);
  assert.ok(
    found.some((p) => expected.test(p)),
    `${sql}\nfound:\n  ${found.join('\n  ')}\nexpected one matching ${expected}`,
  );
}

describe('Citus router check (static, libpg-query)', () => {
  before(async () => {
    await loadParser();
  });

  describe('accepts', () => {
    it('a tenant filter, as a parameter or a literal, qualified or not', () => {
      accepts('select * from orders where tenant_id = $1');
      accepts('select * from "orders" as "o" where "o"."tenant_id" = 7');
      accepts('select * from public.orders where $1 = orders.tenant_id');
      accepts('select * from orders where tenant_id = $1::bigint');
    });

    it('a one-element IN', () => {
      accepts('select * from orders where tenant_id in ($1)');
    });

    it('a join with an ON equality on the tenant column and a filter on one side', () => {
      accepts(
        'select * from orders o join items i on i.order_id = o.id and i.tenant_id = o.tenant_id where o.tenant_id = $1',
      );
    });

    it('a join with a filter on each side', () => {
      accepts('select * from orders o join items i on i.order_id = o.id and i.tenant_id = $1 where o.tenant_id = $2');
    });

    it('a LEFT JOIN whose ON ties the right side to the pinned left side, or pins it', () => {
      accepts('select * from orders o left join items i on i.tenant_id = o.tenant_id where o.tenant_id = $1');
      accepts(
        'select * from orders o left join items i on i.order_id = o.id and i.tenant_id = $1 where o.tenant_id = $2',
      );
    });

    it('a correlated EXISTS tied to the pinned outer reference', () => {
      accepts(
        'select * from orders o where o.tenant_id = $1 and exists (select 1 from items i where i.order_id = o.id and i.tenant_id = o.tenant_id)',
      );
    });

    it('a pinned subquery under OR: the subquery pins its own reference', () => {
      accepts(
        'select * from orders where tenant_id = $1 and (id = 3 or id in (select order_id from items where tenant_id = $2))',
      );
    });

    it('a CTE pinned to the same parameter, and the library’s path subquery', () => {
      accepts('with x as (select id from orders where orders.tenant_id = $1) select * from x');
      accepts('select count(*) from comments where page_id in (select pages.id from pages where pages.tenant_id = $1)');
    });

    it('a join with a reference table, and an unscoped or path table alone', () => {
      accepts('select * from orders o join countries c on c.code = o.country where o.tenant_id = $1');
      accepts('select * from countries');
      accepts('select * from comments where id = $1');
    });

    it('UNION arms, FROM subqueries and scalar subqueries that are each pinned', () => {
      accepts('select id from orders where tenant_id = $1 union all select id from items where tenant_id = $2');
      accepts('select * from (select * from orders where tenant_id = $1) as sub');
      accepts('select (select count(*) from items where items.tenant_id = $1) from orders where tenant_id = $2');
    });

    it('UPDATE and DELETE with a tenant filter, and DELETE … USING with an equality and a pin', () => {
      accepts('update orders set status = $1 where orders.tenant_id = $2 and id = $3', ['x', 7, 1]);
      accepts('delete from orders where orders.tenant_id = $1 and id = $2', [7, 1]);
      accepts(
        'delete from items using orders where items.order_id = orders.id and items.tenant_id = orders.tenant_id and orders.tenant_id = $1',
      );
    });

    it('UPDATE setting the tenant column to the value its WHERE pins, or to itself', () => {
      accepts('update orders set title = $1, tenant_id = $2 where orders.tenant_id = $3 and id = $4', ['x', 7, 7, 1]);
      accepts('update orders set tenant_id = tenant_id where tenant_id = $1');
    });

    it('INSERT giving the scope’s tenant in every row, and an upsert updating it only from excluded', () => {
      accepts('insert into orders (tenant_id, title) values ($1, $2), ($3, $4)', [7, 'a', 7, 'b']);
      accepts(
        'insert into orders (id, tenant_id, title) values ($1, $2, $3) on conflict (id) do update set tenant_id = excluded.tenant_id, title = excluded.title where orders.tenant_id = $4',
        [1, 7, 'x', 7],
      );
      accepts('insert into orders (tenant_id, title) select tenant_id, title from items where items.tenant_id = $1');
    });

    it('a pin to the scope’s value and to another one (an empty result: at most one shard)', () => {
      accepts('select * from orders where tenant_id = $1 and tenant_id = $2', [7, 8]);
      // the app's own filter on another tenant beside the library's presence-aware one
      accepts('select * from orders as o where ((o.tenant_id = $1) or (o.*) is null) and o.tenant_id = $2', [7, 8]);
    });

    it('the library’s right joins: each table pinned in the ON clause that filters it, or in WHERE', () => {
      accepts(
        'select * from "comments" as "c" right join "pages" as "p" on "p"."id" = "c"."page_id" and ("c"."page_id" in (select "pages"."id" from "pages" where "pages"."tenant_id" = $1)) and ("p"."tenant_id" = $2) where (("c"."page_id" in (select "pages"."id" from "pages" where "pages"."tenant_id" = $3)) or ("c".*) is null) and ("p"."tenant_id" = $4)',
      );
      accepts(
        'select * from "orders" as "o" left join "items" as "i" on "i"."order_id" = "o"."id" and ("o"."tenant_id" = $1) and ("i"."tenant_id" = $2) right join "countries" as "k" on "k"."id" = "o"."country" and ("o"."tenant_id" = $3) and (("i"."tenant_id" = $4) or ("i".*) is null) where (("o"."tenant_id" = $1) or ("o".*) is null) and (("i"."tenant_id" = $2) or ("i".*) is null)',
      );
    });

    it('checks only the dimensions the scope pins to one key', () => {
      const tenantOnly = rulesFor(TABLES, { tenant: 7 });
      accepts('select * from tasks where tenant_id = $1', [7], tenantOnly);
      rejects(
        'select * from tasks where tenant_id = $1',
        /user_id is not pinned/,
        [7],
        rulesFor(TABLES, { tenant: 7, user: 'u1' }),
      );
      accepts(
        'select * from tasks where tenant_id = $1 and user_id = $2',
        [7, 'u1'],
        rulesFor(TABLES, { tenant: 7, user: 'u1' }),
      );
    });
  });

  describe('rejects', () => {
    it('a missing filter, or one on id only', () => {
      rejects('select * from orders', /^orders: tenant_id is not pinned to the scope's tenant \(7\)$/);
      rejects('select * from orders where id = $1', /not pinned/, [3]);
    });

    it('a filter on another tenant', () => {
      rejects('select * from orders where tenant_id = $1', /pinned to 8, not the scope's 7/, [8]);
      rejects('select * from orders where tenant_id = 8', /pinned to 8/);
      rejects(
        'select * from orders where tenant_id = $1 and tenant_id = $2',
        /pinned to 8, 9, not the scope's 7/,
        [8, 9],
      );
    });

    it('a join with no tenant equality and no filter on the joined side', () => {
      rejects(
        'select * from orders o join items i on i.order_id = o.id where o.tenant_id = $1',
        /^i: tenant_id is not pinned/,
      );
    });

    it('OR, NOT, IN (1, 2), = ANY($1), IS NOT DISTINCT FROM', () => {
      rejects('select * from orders where tenant_id = $1 or id = 3', /not pinned/);
      rejects('select * from orders where not (tenant_id <> $1)', /not pinned/);
      rejects('select * from orders where tenant_id in ($1, $2)', /not pinned/);
      rejects('select * from orders where tenant_id = any($1)', /not pinned/, [[7]]);
      rejects('select * from orders where tenant_id is not distinct from $1', /not pinned/);
    });

    it('an unpinned IN-subquery', () => {
      rejects(
        'select * from orders where tenant_id = $1 and id in (select order_id from items)',
        /^items: tenant_id is not pinned/,
      );
      rejects(
        'select * from orders where tenant_id in (select tenant_id from items where tenant_id = $1)',
        /^orders: /,
      );
    });

    it('a UNION arm without a filter', () => {
      rejects('select id from orders where tenant_id = $1 union select id from items', /^items: /);
    });

    it('a pin on the preserved side of a LEFT JOIN given only in its ON', () => {
      rejects('select * from orders o left join items i on i.tenant_id = o.tenant_id and o.tenant_id = $1', /^o: /);
    });

    it('a pin of the outer reference inside NOT EXISTS (it filters nothing outside)', () => {
      rejects(
        'select * from orders o where not exists (select 1 from items i where i.tenant_id = o.tenant_id and o.tenant_id = $1)',
        /^o: /,
      );
    });

    it('a full outer join: its tables are filtered only by presence-aware predicates (a known gap, marked)', () => {
      const sql =
        'select "p".* from "orders" as "p" full outer join "items" as "c" on "c"."order_id" = "p"."id" and ("p"."tenant_id" = $1) and ("c"."tenant_id" = $2) where (("p"."tenant_id" = $3) or ("p".*) is null) and (("c"."tenant_id" = $4) or ("c".*) is null) group by "p"."id"';
      const found = checkRouterSql(sql, [7, 7, 7, 7], rules);
      assert.deepEqual(
        found.map((f) => [f.alias, f.known]),
        [
          ['p', 'presence-aware'],
          ['c', 'presence-aware'],
        ],
      );
      assert.match(found[0]?.problem ?? '', /only by a presence-aware filter \(… or \(p\.\*\) is null\)/);
    });

    it('a full outer join missing a table’s filter is not a known gap', () => {
      const sql =
        'select * from "orders" as "p" full outer join "items" as "c" on "c"."order_id" = "p"."id" where (("p"."tenant_id" = $1) or ("p".*) is null)';
      assert.deepEqual(
        checkRouterSql(sql, [7], rules).map((f) => [f.alias, f.known]),
        [
          ['p', 'presence-aware'],
          ['c', undefined],
        ],
      );
      // nor one whose presence-aware filter is for another tenant
      const other = checkRouterSql('select * from orders as p where ((p.tenant_id = $1) or (p.*) is null)', [8], rules);
      assert.equal(other[0]?.known, undefined);
    });

    it('a tenant equality with the other side unpinned', () => {
      rejects('select * from orders o join items i on i.tenant_id = o.tenant_id', /not pinned/);
    });

    it('UPDATE moving the tenant column, or setting it without a WHERE that pins it to the value', () => {
      rejects('update orders set tenant_id = $1 where orders.tenant_id = $2', /UPDATE sets tenant_id = 8/, [8, 7]);
      rejects(
        'update orders o set tenant_id = $1 from items i where o.tenant_id = i.tenant_id and i.tenant_id = $2',
        /without a WHERE that pins it/,
        [7, 7],
      );
    });

    it('DELETE … USING without the tenant equality', () => {
      rejects('delete from items using orders where items.order_id = orders.id and orders.tenant_id = $1', /^items: /);
    });

    it('INSERT without the tenant column, without a column list, or with another tenant', () => {
      rejects('insert into orders (title) values ($1)', /INSERT does not give tenant_id/, ['x']);
      rejects('insert into orders values ($1, $2)', /without a column list/);
      rejects('insert into orders (tenant_id, title) values ($1, $2), ($3, $4)', /row 2 gives tenant_id = 8/, [
        7,
        'a',
        8,
        'b',
      ]);
      rejects('insert into orders (tenant_id, title) select tenant_id, title from items', /not pinned/);
    });

    it('an upsert whose DO UPDATE sets the tenant column to a value, even the scope’s own (Citus refuses it)', () => {
      const sql = 'insert into orders (id, tenant_id) values ($1, $2) on conflict (id) do update set tenant_id = $3';
      rejects(sql, /ON CONFLICT DO UPDATE sets tenant_id = 8, not excluded.tenant_id/, [1, 7, 8]);
      rejects(sql, /ON CONFLICT DO UPDATE sets tenant_id = 7, not excluded.tenant_id/, [1, 7, 7]);
      assert.equal(checkRouterSql(sql, [1, 7, 7], rules)[0]?.known, undefined);
    });

    it('statements it does not read, on a distributed table', () => {
      rejects('truncate orders', /TruncateStmt statement is not analysed/);
    });

    it('what does not parse', () => {
      rejects('select from where', /does not parse/);
    });
  });
});
