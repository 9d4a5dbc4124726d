// SQL at scale (issue 26): typical app queries through the scoped Knex vs the best hand-written
// equivalent (joins on the tenant column), on a throwaway PostgreSQL and MariaDB (or PG_URL /
// MYSQL_URL) filled by bench/data/generate.ts. Per query and tenant (the biggest and the
// smallest), both SQL texts run interleaved, warmed, and the median server-side execution time
// is kept: PostgreSQL `EXPLAIN (ANALYZE, FORMAT JSON)` "Execution Time", MariaDB
// `ANALYZE FORMAT=JSON` r_total_time_ms (writes run in a transaction that is rolled back).
// The scoped SQL is the one the wrapped Knex compiles inside scope({ tenant }); each read is also
// run through the wrapped Knex once and its rows compared with the hand-written query's.
// Usage: tsx bench/sql.ts [--rows 1e6] [--tenants 1000] [--runs 9] [--dialect pg|mysql] [--seed 26]
import { defineScopes, scope } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import type { Backend } from '../test/support/db-backend';
import { type Dataset, generate } from './data/generate';
import { TABLES } from './data/schema';

type ServerDialect = 'pg' | 'mysql';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const ROWS = Number(arg('rows') ?? 1e6);
const TENANTS = Number(arg('tenants') ?? 1000);
const RUNS = Number(arg('runs') ?? 9);
const SEED = Number(arg('seed') ?? 26);
const DIALECTS: ServerDialect[] = arg('dialect') ? [arg('dialect') as ServerDialect] : ['pg', 'mysql'];
const TARGET = 1.1;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Ctx {
  readonly dialect: ServerDialect;
  readonly base: Knex;
  readonly db: Knex;
  readonly tenant: number;
  /** A task of the tenant, with comments: for the update and the delete. */
  readonly taskId: number;
}

interface QueryCase {
  readonly name: string;
  readonly write?: boolean;
  scoped(c: Ctx): Knex.QueryBuilder;
  hand(c: Ctx): Knex.QueryBuilder | Knex.Raw;
}

const CASES: QueryCase[] = [
  {
    name: 'tasks: page 3 of 50, status filter',
    scoped: ({ db }) =>
      db('tasks').select('id', 'title', 'status').where('status', 1).orderBy('id', 'desc').limit(50).offset(100),
    hand: ({ base, tenant }) =>
      base('tasks as t')
        .join('projects as p', 'p.id', 't.project_id')
        .where('p.organization_id', tenant)
        .where('t.status', 1)
        .select('t.id', 't.title', 't.status')
        .orderBy('t.id', 'desc')
        .limit(50)
        .offset(100),
  },
  {
    name: 'tasks: count',
    scoped: ({ db }) => db('tasks').count({ n: '*' }),
    hand: ({ base, tenant }) =>
      base('tasks as t')
        .join('projects as p', 'p.id', 't.project_id')
        .where('p.organization_id', tenant)
        .count({ n: '*' }),
  },
  {
    name: 'comments (two hops): first page',
    scoped: ({ db }) => db('comments').select('id', 'task_id', 'body').orderBy('id', 'desc').limit(50),
    hand: ({ base, tenant }) =>
      base('comments as c')
        .join('tasks as t', 't.id', 'c.task_id')
        .join('projects as p', 'p.id', 't.project_id')
        .where('p.organization_id', tenant)
        .select('c.id', 'c.task_id', 'c.body')
        .orderBy('c.id', 'desc')
        .limit(50),
  },
  {
    name: 'comments (two hops): count',
    scoped: ({ db }) => db('comments').count({ n: '*' }),
    hand: ({ base, tenant }) =>
      base('comments as c')
        .join('tasks as t', 't.id', 'c.task_id')
        .join('projects as p', 'p.id', 't.project_id')
        .where('p.organization_id', tenant)
        .count({ n: '*' }),
  },
  {
    name: 'join comments+tasks+projects: page',
    scoped: ({ db }) =>
      db('comments as c')
        .join('tasks as t', 't.id', 'c.task_id')
        .join('projects as p', 'p.id', 't.project_id')
        .where('t.status', 1)
        .select('c.id', 't.title', 'p.name')
        .orderBy('c.id', 'desc')
        .limit(50),
    hand: ({ base, tenant }) =>
      base('comments as c')
        .join('tasks as t', 't.id', 'c.task_id')
        .join('projects as p', 'p.id', 't.project_id')
        .where('p.organization_id', tenant)
        .where('t.status', 1)
        .select('c.id', 't.title', 'p.name')
        .orderBy('c.id', 'desc')
        .limit(50),
  },
  {
    name: 'update a task by id',
    write: true,
    scoped: ({ db, taskId }) => db('tasks').where({ id: taskId }).update({ title: 'renamed' }),
    hand: ({ base, dialect, tenant, taskId }) =>
      dialect === 'pg'
        ? base.raw(
            `update tasks set title = 'renamed' from projects p
             where p.id = tasks.project_id and tasks.id = ? and p.organization_id = ?`,
            [taskId, tenant],
          )
        : base.raw(
            `update tasks t join projects p on p.id = t.project_id set t.title = 'renamed'
             where t.id = ? and p.organization_id = ?`,
            [taskId, tenant],
          ),
  },
  {
    name: "delete a task's comments",
    write: true,
    scoped: ({ db, taskId }) => db('comments').where({ task_id: taskId }).del(),
    hand: ({ base, dialect, tenant, taskId }) =>
      dialect === 'pg'
        ? base.raw(
            `delete from comments as c using tasks t, projects p
             where t.id = c.task_id and p.id = t.project_id and c.task_id = ? and p.organization_id = ?`,
            [taskId, tenant],
          )
        : base.raw(
            `delete c from comments c join tasks t on t.id = c.task_id join projects p on p.id = t.project_id
             where c.task_id = ? and p.organization_id = ?`,
            [taskId, tenant],
          ),
  },
];

interface Measured {
  /** Server-side execution time, from EXPLAIN ANALYZE / ANALYZE. */
  readonly ms: number;
  readonly plan: string;
}

// ---- plan summaries --------------------------------------------------------------------------

const PG_SHORT: Record<string, string> = {
  'Index Scan': 'IxScan',
  'Index Scan Backward': 'IxScanBack',
  'Index Only Scan': 'IxOnly',
  'Bitmap Heap Scan': 'BmpHeap',
  'Bitmap Index Scan': 'BmpIx',
  'Seq Scan': 'Seq',
  'Nested Loop': 'NL',
  'Hash Join': 'HashJoin',
  'Merge Join': 'MergeJoin',
  Aggregate: 'Agg',
  Memoize: 'Memo',
};

type PgNode = Record<string, unknown> & { Plans?: PgNode[] };

function pgPlan(node: PgNode): string {
  const type = String(node['Node Type']);
  if (type === 'Hash' || type === 'Materialize' || type === 'Gather' || type === 'Gather Merge') {
    const kids = (node.Plans ?? []).map(pgPlan);
    return kids.join(' ');
  }
  const backward = node['Scan Direction'] === 'Backward' ? ' Backward' : '';
  let label = PG_SHORT[`${type}${backward}`] ?? PG_SHORT[type] ?? type;
  if (node['Join Type'] === 'Semi') label += '(semi)';
  const rel = node['Relation Name'] ? String(node['Relation Name']) : '';
  const index = node['Index Name']
    ? String(node['Index Name']).replace(/_index$|_pkey$/, (m) => (m === '_pkey' ? '.pk' : ''))
    : '';
  if (rel || index) label += ` ${index || rel}`;
  const kids = (node.Plans ?? []).map(pgPlan).filter(Boolean);
  return kids.length ? `${label}[${kids.join(', ')}]` : label;
}

type Json = Record<string, unknown>;

function mysqlPlan(root: Json): string {
  const parts: string[] = [];
  const walk = (value: unknown, key: string): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v, key);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const obj = value as Json;
    if (key === 'materialized' || key === 'duplicates_removal' || key === 'subquery') parts.push(`<${key}>`);
    if (typeof obj.table_name === 'string') {
      const access = String(obj.access_type ?? '');
      const k = obj.key ? `(${String(obj.key).replace(/_index$/, '')})` : '';
      const fm = obj.first_match ? ' firstmatch' : '';
      parts.push(`${obj.table_name}:${access}${k}${fm}`);
    }
    for (const [k, v] of Object.entries(obj)) walk(v, k);
  };
  walk(root, '');
  return parts.join(' ');
}

function firstNumber(value: unknown, key: string): number | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const obj = value as Json;
  if (typeof obj[key] === 'number') return obj[key] as number;
  for (const v of Object.values(obj)) {
    const found = firstNumber(v, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

// ---- measuring --------------------------------------------------------------------------------

async function explain(base: Knex, dialect: ServerDialect, sql: string, bindings: readonly unknown[], write: boolean) {
  const run = async (k: Knex | Knex.Transaction): Promise<Measured> => {
    if (dialect === 'pg') {
      const result = await k.raw(`explain (analyze, format json) ${sql}`, bindings as Knex.RawBinding[]);
      const top = (result.rows[0]['QUERY PLAN'] as Array<{ Plan: PgNode; 'Execution Time': number }>)[0]!;
      return { ms: top['Execution Time'], plan: pgPlan(top.Plan) };
    }
    const result = await k.raw(`analyze format=json ${sql}`, bindings as Knex.RawBinding[]);
    const row = (result[0] as Json[])[0]!;
    const doc = JSON.parse(String(Object.values(row)[0])) as Json;
    // execution only, like PostgreSQL's "Execution Time": query_block, not query_optimization
    const ms = firstNumber(doc.query_block, 'r_total_time_ms') ?? Number.NaN;
    return { ms, plan: mysqlPlan(doc.query_block as Json) };
  };
  if (!write) return run(base);
  const trx = await base.transaction();
  try {
    return await run(trx);
  } finally {
    await trx.rollback();
  }
}

/** Client-side milliseconds of the plain statement (planning + execution + round trip). */
async function wall(base: Knex, sql: string, bindings: readonly unknown[], write: boolean): Promise<number> {
  const trx = write ? await base.transaction() : undefined;
  try {
    const start = process.hrtime.bigint();
    await (trx ?? base).raw(sql, bindings as Knex.RawBinding[]);
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    await trx?.rollback();
  }
}

interface Row {
  readonly dialect: string;
  readonly query: string;
  readonly tenant: string;
  readonly scoped: number;
  readonly hand: number;
  readonly wallRatio: number;
  readonly scopedPlan: string;
  readonly handPlan: string;
  readonly sameRows: boolean | undefined;
}

const normalise = (rows: unknown) =>
  JSON.stringify(
    (rows as Json[]).map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : String(v)])),
    ),
  );

async function benchDialect(dialect: ServerDialect, backendFor: (d: ServerDialect) => Promise<Backend>) {
  const backend = await backendFor(dialect);
  const database = await backend.createDatabase();
  const base = knexFactory({ ...database.config(), pool: { min: 1, max: 2 } });
  const db = defineScopes({ tables: TABLES }).wrap(base);
  try {
    if (dialect === 'mysql' && backend.description.startsWith('throwaway')) {
      // the throwaway server's 64 MB buffer pool would measure the disk more than the plans (a
      // MYSQL_URL server is left as it is)
      await base.raw('set global innodb_buffer_pool_size = 1073741824').catch(() => {});
    }
    const data = await generate(base, dialect, { rows: ROWS, tenants: TENANTS, seed: SEED });
    const rows: Row[] = [];
    const tenants = [
      { label: `big (#${data.big.tenant}, ${data.big.comments} comments)`, ...data.big },
      { label: `small (#${data.small.tenant}, ${data.small.comments} comments)`, ...data.small },
    ];
    for (const t of tenants) {
      // a task of this tenant that has comments: the one with the most
      const task = (await base('comments as c')
        .join('tasks as t', 't.id', 'c.task_id')
        .join('projects as p', 'p.id', 't.project_id')
        .where('p.organization_id', t.tenant)
        .groupBy('c.task_id')
        .select({ id: 'c.task_id' })
        .count({ n: '*' })
        .orderBy([{ column: 'n', order: 'desc' }, { column: 'c.task_id' }])
        .first()) as { id: number | string } | undefined;
      const ctx: Ctx = { dialect, base, db, tenant: t.tenant, taskId: Number(task?.id) };
      for (const c of CASES) {
        const scopedSql = await scope({ tenant: t.tenant }, async () => c.scoped(ctx).toSQL());
        const handSql = c.hand(ctx).toSQL();
        let sameRows: boolean | undefined;
        if (!c.write) {
          const viaDb = await scope({ tenant: t.tenant }, async () => c.scoped(ctx));
          const viaHand = await c.hand(ctx);
          sameRows = normalise(viaDb) === normalise(viaHand);
        }
        const write = c.write === true;
        const go = (q: Knex.Sql) => explain(base, dialect, q.sql, q.bindings, write);
        for (let w = 0; w < 2; w++) {
          await go(scopedSql);
          await go(handSql);
        }
        const s: Measured[] = [];
        const h: Measured[] = [];
        const sw: number[] = [];
        const hw: number[] = [];
        for (let r = 0; r < RUNS; r++) {
          // alternate which goes first, so neither always runs on the other's warm cache
          const pair = [
            async () => {
              s.push(await go(scopedSql));
              sw.push(await wall(base, scopedSql.sql, scopedSql.bindings, write));
            },
            async () => {
              h.push(await go(handSql));
              hw.push(await wall(base, handSql.sql, handSql.bindings, write));
            },
          ];
          if (r % 2) pair.reverse();
          for (const f of pair) await f();
        }
        rows.push({
          dialect: backend.description.replace(/^.*\((.*)\)$/, '$1'),
          query: c.name,
          tenant: t.label,
          scoped: median(s.map((m) => m.ms)),
          hand: median(h.map((m) => m.ms)),
          wallRatio: median(sw) / median(hw),
          scopedPlan: s[0]!.plan,
          handPlan: h[0]!.plan,
          sameRows,
        });
      }
    }
    return { data, rows, server: backend.description };
  } finally {
    await base.destroy();
    await database.drop();
  }
}

function report(server: string, data: Dataset, rows: readonly Row[]): void {
  const c = data.counts;
  console.log(`\n${server}`);
  console.log(
    `  dataset: ${c.organizations} tenants, ${c.projects} projects, ${c.tasks} tasks, ${c.comments} comments; ` +
      `biggest tenant #${data.big.tenant} owns ${data.big.comments} comments, top 10 own ${(100 * data.top10Share).toFixed(0)} %`,
  );
  console.log(
    `  generated in ${((data.ms.load + data.ms.indexes + data.ms.analyze) / 1000).toFixed(1)} s ` +
      `(load ${(data.ms.load / 1000).toFixed(1)} s, indexes ${(data.ms.indexes / 1000).toFixed(1)} s, analyze ${(data.ms.analyze / 1000).toFixed(1)} s)`,
  );
  console.log(
    '\n| query | dialect | tenant | scoped ms | hand ms | scoped / hand | client-side ratio | scoped plan | hand plan |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ratio = r.scoped / r.hand;
    const flag = ratio > TARGET ? ' ⚠' : '';
    const rowsFlag = r.sameRows === false ? ' (ROWS DIFFER)' : '';
    console.log(
      `| ${r.query}${rowsFlag} | ${r.dialect} | ${r.tenant} | ${r.scoped.toFixed(3)} | ${r.hand.toFixed(3)} | ${ratio.toFixed(2)}×${flag} | ${r.wallRatio.toFixed(2)}× | \`${r.scopedPlan}\` | \`${r.handPlan}\` |`,
    );
  }
}

async function main(): Promise<void> {
  const { backendFor, stopAll } = await import('../test/support/db-registry');
  console.log(
    `bench:sql on Node ${process.version}: --rows ${ROWS} --tenants ${TENANTS} --runs ${RUNS} --seed ${SEED}; ` +
      `median server-side execution time of ${RUNS} interleaved runs after 2 warm-ups; ⚠ = scoped > ${TARGET}× hand-written`,
  );
  try {
    for (const dialect of DIALECTS) {
      try {
        const { data, rows, server } = await benchDialect(dialect, backendFor);
        report(server, data, rows);
      } catch (error) {
        console.log(`\n${dialect}: not measured: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    }
  } finally {
    await stopAll();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
