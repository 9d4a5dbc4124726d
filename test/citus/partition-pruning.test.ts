// The dynamic Citus stand-in (docs/citus.md; research rls-citus.md §2.5): on plain PostgreSQL the
// tables with a tenant column are HASH-partitioned by it, 8 partitions standing in for shards. Each
// statement a representative scoped query sends is planned with its real parameters (custom plan)
// and must scan exactly one partition of each such table, as Citus must reach exactly one shard.
// Run with and without the colocateJoins option. The static check (router-check.ts) reads the same
// statements and must agree.
import assert from 'node:assert/strict';
import { defineScopes, scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../support/databases';
import { loadParser } from './pg-ast';
import { checkRouterSql, rulesFor } from './router-check';

const PARTITIONS = 8;
const TENANT = 3;
const TABLES = {
  pages: { tenant: 'tenant_id' },
  notes: { tenant: 'tenant_id' },
  // a path table: no tenant column, so not distributable by tenant (on Citus it would carry one)
  comments: { tenant: 'page_id -> pages.tenant_id' },
} as const;
const DISTRIBUTED = ['pages', 'notes'];

interface Sent {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}

/** A scoped query and the distributed tables its statements scan (each must be one partition). */
interface Case {
  readonly name: string;
  readonly scans: readonly string[];
  /** With colocateJoins, the join of `p` and `n` carries `n.tenant_id = p.tenant_id`. */
  readonly colocated?: true;
  run(db: Knex): PromiseLike<unknown>;
}

const CASES: readonly Case[] = [
  { name: 'select', scans: ['pages'], run: (db) => db('pages').where('title', 'like', 'p%') },
  { name: 'select by id', scans: ['notes'], run: (db) => db('notes').where('id', 7).first() },
  {
    name: 'join of two distributed tables',
    scans: ['pages', 'notes'],
    colocated: true,
    run: (db) => db('pages as p').join('notes as n', 'n.page_id', 'p.id').select('p.id', 'n.body'),
  },
  {
    name: 'left join of two distributed tables',
    scans: ['pages', 'notes'],
    colocated: true,
    run: (db) => db('pages as p').leftJoin('notes as n', 'n.page_id', 'p.id').select('p.id', 'n.body'),
  },
  {
    name: 'right join of two distributed tables',
    scans: ['pages', 'notes'],
    run: (db) => db('notes as n').rightJoin('pages as p', 'p.id', 'n.page_id').select('p.id', 'n.body'),
  },
  {
    name: 'right join of a distributed table to a reference table',
    scans: ['pages'],
    run: (db) => db('pages as p').rightJoin('tags as t', 't.id', 'p.id').select('t.name', 'p.title'),
  },
  { name: 'path read (through pages)', scans: ['pages'], run: (db) => db('comments').select('id', 'body') },
  {
    name: 'path table joined to a distributed one',
    scans: ['pages'],
    run: (db) => db('comments as c').join('pages as p', 'p.id', 'c.page_id').select('c.body', 'p.title'),
  },
  {
    name: 'path table and two distributed tables',
    scans: ['pages', 'notes'],
    colocated: true,
    run: (db) =>
      db('comments as c')
        .join('pages as p', 'p.id', 'c.page_id')
        .join('notes as n', 'n.page_id', 'p.id')
        .select('c.body', 'n.body as note'),
  },
  { name: 'count', scans: ['notes'], run: (db) => db('notes').count('* as n') },
  {
    name: 'IN subquery',
    scans: ['pages', 'notes'],
    run: (db) => db('pages').whereIn('id', db('notes').select('page_id').where('body', 'like', 'n%')),
  },
  {
    name: 'EXISTS',
    scans: ['pages', 'notes'],
    run: (db) => db('pages as p').whereExists(db('notes as n').select(db.raw('1')).where('n.page_id', db.ref('p.id'))),
  },
  {
    name: 'CTE',
    scans: ['pages', 'notes'],
    run: (db) =>
      db
        .with('noted', db('notes').select('page_id'))
        .select('pages.id')
        .from('pages')
        .whereIn('pages.id', db.select('page_id').from('noted')),
  },
  {
    name: 'union',
    scans: ['pages', 'notes'],
    run: (db) => db('pages').select('id').union(db('notes').select('page_id')),
  },
  {
    name: 'update',
    scans: ['pages'],
    run: (db) =>
      db('pages')
        .where('id', TENANT * 10 + 1)
        .update({ title: 'renamed' }),
  },
  {
    name: 'update through a path',
    scans: ['pages'],
    run: (db) => db('comments').where('body', 'like', 'c%').update({ body: 'edited' }),
  },
  {
    name: 'delete',
    scans: ['notes'],
    run: (db) =>
      db('notes')
        .where('id', TENANT * 100 + 2)
        .del(),
  },
  {
    name: 'insert (stamped)',
    scans: [],
    run: (db) => db('notes').insert({ id: 9001, page_id: TENANT * 10 + 1, body: 'new' }),
  },
  {
    name: 'insert into a path table (the parent is checked in scope)',
    scans: ['pages'],
    run: (db) => db('comments').insert({ id: 9002, page_id: TENANT * 10 + 2, body: 'new' }),
  },
  {
    name: 'upsert',
    scans: [],
    run: (db) =>
      db('pages')
        .insert({ id: TENANT * 10 + 1, title: 'upserted' })
        .onConflict(['tenant_id', 'id'])
        .merge(['title']),
  },
];

async function createSchema(base: Knex): Promise<void> {
  const partitions = (table: string) =>
    Array.from(
      { length: PARTITIONS },
      (_, i) =>
        `create table ${table}_p${i} partition of ${table} for values with (modulus ${PARTITIONS}, remainder ${i})`,
    );
  for (const sql of [
    `create table pages (tenant_id integer not null, id integer not null, title text not null,
       primary key (tenant_id, id)) partition by hash (tenant_id)`,
    ...partitions('pages'),
    `create table notes (tenant_id integer not null, id integer not null, page_id integer not null, body text not null,
       primary key (tenant_id, id), foreign key (tenant_id, page_id) references pages (tenant_id, id))
       partition by hash (tenant_id)`,
    ...partitions('notes'),
    'create table comments (id integer primary key, page_id integer not null, body text not null)',
    // a reference table (unscoped): on Citus, create_reference_table
    'create table tags (id integer primary key, name text not null)',
  ]) {
    await base.raw(sql);
  }
  // 20 tenants, 3 pages each (id tenant*10 + k), 2 notes per page, one comment per page
  const tenants = Array.from({ length: 20 }, (_, i) => i + 1);
  const pages = tenants.flatMap((t) => [1, 2, 3].map((k) => ({ tenant_id: t, id: t * 10 + k, title: `p${t}-${k}` })));
  await base('pages').insert(pages);
  await base('notes').insert(
    pages.flatMap((p, i) =>
      [1, 2].map((k) => ({ tenant_id: p.tenant_id, id: i * 2 + k, page_id: p.id, body: `n${k}` })),
    ),
  );
  await base('comments').insert(pages.map((p) => ({ id: p.id, page_id: p.id, body: `c${p.id}` })));
  await base('tags').insert(pages.map((p) => ({ id: p.id, name: `t${p.id}` })));
  await base.raw('analyze');
}

const ROLLBACK = new Error('rolled back on purpose');

/**
 * Runs `query` on a transaction of `db` in the tenant's scope, rolled back (every case sees the
 * same rows), and records the data statements it sent: all of them, parent checks too.
 */
async function sentBy(db: Knex, query: (k: Knex) => PromiseLike<unknown>): Promise<Sent[]> {
  const sent: Sent[] = [];
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => {
    if (/^\s*(select|insert|update|delete|with)\b/i.test(q.sql)) sent.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  db.on('query', listener);
  try {
    await db
      .transaction(async (trx) => {
        await scope({ tenant: TENANT }, () => query(trx));
        throw ROLLBACK;
      })
      .catch((error: unknown) => {
        if (error !== ROLLBACK) throw error;
      });
  } finally {
    db.off('query', listener);
  }
  return sent;
}

/** Partitions scanned per partitioned table, from the custom plan of the statement with its parameters. */
async function partitionsScanned(base: Knex, statement: Sent, parents: ReadonlyMap<string, string>) {
  return base.transaction(async (trx) => {
    await trx.raw('set local plan_cache_mode = force_custom_plan');
    await trx.raw(`prepare ks_pruning as ${statement.sql}`);
    const args = statement.bindings.map((b) => trx.raw('?', [b as Knex.Value]).toQuery());
    const result = await trx.raw(
      `explain (format json) execute ks_pruning${args.length > 0 ? `(${args.join(', ')})` : ''}`,
    );
    await trx.raw('deallocate ks_pruning');
    const plan = (result.rows[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0]?.Plan;
    const scanned = new Map<string, Set<string>>();
    const visit = (node: PlanNode) => {
      const relation = node['Relation Name'];
      const parent = relation === undefined ? undefined : parents.get(relation);
      if (parent && relation && node['Node Type'].endsWith('Scan')) {
        const set = scanned.get(parent) ?? new Set<string>();
        set.add(relation);
        scanned.set(parent, set);
      }
      for (const child of node.Plans ?? []) visit(child);
    };
    if (plan) visit(plan);
    return new Map([...scanned].map(([table, set]) => [table, set.size]));
  });
}

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

const describeScans = (scans: ReadonlyMap<string, number>) =>
  JSON.stringify(Object.fromEntries([...scans].sort(([a], [b]) => a.localeCompare(b))));

forEachDialect('Citus stand-in: one hash partition per tenant table (#26)', (tdb) => {
  if (tdb.dialect !== 'pg') return;
  let base: Knex;
  let parents: Map<string, string>;

  before(async () => {
    base = tdb.knex();
    await createSchema(base);
    await loadParser();
    const rows = await base.raw(
      "select c.relname as child, p.relname as parent from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where c.relkind = 'r'",
    );
    parents = new Map((rows.rows as Array<{ child: string; parent: string }>).map((r) => [r.child, r.parent]));
    assert.equal(parents.size, PARTITIONS * DISTRIBUTED.length);
  });

  const rules = rulesFor(TABLES, { tenant: TENANT });

  for (const variant of [
    { name: 'default', options: {} },
    { name: 'colocateJoins', options: { colocateJoins: 'tenant' } },
  ]) {
    describe(variant.name, () => {
      const wrap = (k: Knex) =>
        defineScopes({ tables: TABLES, ...variant.options } as Parameters<typeof defineScopes>[0]).wrap(k);

      for (const c of CASES) {
        it(`${c.name}: ${c.scans.length > 0 ? c.scans.map((t) => `${t} 1`).join(', ') : 'no scan'} of ${PARTITIONS}`, async () => {
          const sent = await sentBy(wrap(base), (k) => c.run(k));
          assert.ok(sent.length > 0, 'the query sent a statement');
          const seen = new Set<string>();
          for (const statement of sent) {
            const scans = await partitionsScanned(base, statement, parents);
            for (const [table, n] of scans) {
              assert.equal(n, 1, `${table}: ${n} partitions scanned by ${statement.sql} ${describeScans(scans)}`);
              seen.add(table);
            }
            assert.deepEqual(checkRouterSql(statement.sql, statement.bindings, rules), [], statement.sql);
          }
          assert.deepEqual([...seen].sort(), [...c.scans].sort(), `distributed tables scanned by ${c.name}`);
          if (variant.name === 'colocateJoins' && c.colocated) {
            assert.ok(
              sent.some((s) => s.sql.includes('"n"."tenant_id" = "p"."tenant_id"')),
              `the join is co-located: ${sent.map((s) => s.sql).join('; ')}`,
            );
          }
        });
      }
    });
  }

  describe('negative controls (the planner and the static check both see them)', () => {
    const scansOf = async (sql: string, bindings: readonly unknown[]) =>
      describeScans(await partitionsScanned(base, { sql, bindings }, parents));
    const statementOf = (q: Knex.QueryBuilder) => {
      const native = q.toSQL().toNative();
      return { sql: native.sql, bindings: native.bindings as readonly unknown[] };
    };

    it('the unscoped query scans every partition', async () => {
      const { sql, bindings } = statementOf(base('pages').where('title', 'like', 'p%'));
      assert.equal(await scansOf(sql, bindings), `{"pages":${PARTITIONS}}`);
      assert.match(checkRouterSql(sql, bindings, rules)[0]?.problem ?? '', /not pinned/);
    });

    it('a filter on id only scans every partition', async () => {
      const { sql, bindings } = statementOf(base('notes').where('id', 7));
      assert.equal(await scansOf(sql, bindings), `{"notes":${PARTITIONS}}`);
      assert.match(checkRouterSql(sql, bindings, rules)[0]?.problem ?? '', /not pinned/);
    });

    it('a join pinned on one side only, with no tenant equality, scans every partition of the other', async () => {
      const { sql, bindings } = statementOf(
        base('pages as p').join('notes as n', 'n.page_id', 'p.id').where('p.tenant_id', TENANT).select('n.id'),
      );
      assert.equal(await scansOf(sql, bindings), `{"notes":${PARTITIONS},"pages":1}`);
      assert.deepEqual(
        checkRouterSql(sql, bindings, rules).map((f) => f.alias),
        ['n'],
      );
    });

    it('with colocateJoins, a full outer join of filtered derived tables scans one partition of each', async () => {
      const db = defineScopes({ tables: TABLES, colocateJoins: 'tenant' }).wrap(base);
      const { sql, bindings } = scope({ tenant: TENANT }, () =>
        statementOf(db('pages as p').fullOuterJoin('notes as n', 'n.page_id', 'p.id').select('p.id', 'n.body')),
      );
      assert.match(sql, /full outer join \(select \* from "notes" where/);
      assert.equal(await scansOf(sql, bindings), '{"notes":1,"pages":1}');
      assert.deepEqual(checkRouterSql(sql, bindings, rules), []);
    });

    it('without colocateJoins, a full outer join keeps its tables with presence-aware filters, which prune nothing', async () => {
      const db = defineScopes({ tables: TABLES }).wrap(base);
      const { sql, bindings } = scope({ tenant: TENANT }, () =>
        statementOf(db('pages as p').fullOuterJoin('notes as n', 'n.page_id', 'p.id').select('p.id', 'n.body')),
      );
      assert.match(sql, /\(\("p"\."tenant_id" = \$\d+\) or \("p"\.\*\) is not distinct from null\)/);
      assert.equal(await scansOf(sql, bindings), `{"notes":${PARTITIONS},"pages":${PARTITIONS}}`);
      assert.deepEqual(
        checkRouterSql(sql, bindings, rules).map((f) => [f.alias, f.known]),
        [
          ['p', 'presence-aware'],
          ['n', 'presence-aware'],
        ],
      );
    });

    it('a list of two tenants scans two partitions (or more), never one', async () => {
      const { sql, bindings } = statementOf(base('pages').whereIn('tenant_id', [1, 2]));
      const scans = JSON.parse(await scansOf(sql, bindings)) as { pages: number };
      assert.ok(scans.pages >= 2, `pages: ${scans.pages}`);
      assert.match(checkRouterSql(sql, bindings, rules)[0]?.problem ?? '', /not pinned/);
    });
  });
});
