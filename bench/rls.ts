// Cost of the RLS bridge (issue 23): per statement, the scoped instance with the bridge over the
// same instance without it, on a throwaway PostgreSQL (or PG_URL), as a role that is not the
// owner, under the policies of rlsPolicySql() in both cases (without the bridge, the setting is
// made once per physical connection, as a session value: the policies are evaluated alike, only
// the bridge's round trips differ). Workload: primary-key selects through the query builder.
//   - autocommit: each statement alone (the bridge wraps it: BEGIN + setting, statement, COMMIT);
//   - per-request transaction: requests of 5 statements in one db.transaction() (the bridge adds
//     the setting to the BEGIN message: no extra round trip).
// Interleaved rounds, median µs per statement; ratios are the median of each round's ratio.
// Usage: tsx bench/rls.ts [--quick] [--json]
import { randomBytes } from 'node:crypto';
import { defineScopes, scope } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const ROUNDS = quick ? 3 : 15;
const STATEMENTS = quick ? 300 : 1500; // per variant and round
const PER_REQUEST = 5;
const TENANTS = 50;
const ROWS_PER_TENANT = 100;
const SETTING = 'knex_scopes.scope';
const TABLES = { items: { tenant: 'tenant_id' } } as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Variant {
  readonly name: string;
  readonly bridge: boolean;
  readonly perRequest: number; // 1 = autocommit
}

const VARIANTS: readonly Variant[] = [
  { name: 'autocommit, no bridge', bridge: false, perRequest: 1 },
  { name: 'autocommit, bridge', bridge: true, perRequest: 1 },
  { name: `transaction of ${PER_REQUEST}, no bridge`, bridge: false, perRequest: PER_REQUEST },
  { name: `transaction of ${PER_REQUEST}, bridge`, bridge: true, perRequest: PER_REQUEST },
];

export interface RlsBenchResult {
  readonly server: string;
  readonly rows: ReadonlyArray<{ name: string; usPerStatement: number }>;
  readonly ratios: { autocommit: number; transaction: number; transactionVsPlainAutocommit: number };
}

async function run(db: Knex, variant: Variant, statements: number): Promise<number> {
  const requests = Math.ceil(statements / variant.perRequest);
  const start = process.hrtime.bigint();
  for (let r = 0; r < requests; r++) {
    // one tenant: the session value of the no-bridge variant is the same scope, so the policies
    // cost the same in both and the ratio is the bridge's own
    const tenant = 1;
    const id = 1 + (r % ROWS_PER_TENANT);
    await scope({ tenant }, async () => {
      if (variant.perRequest === 1) {
        await db('items').where({ id }).first();
        return;
      }
      await db.transaction(async (trx) => {
        for (let s = 0; s < variant.perRequest; s++) await trx('items').where({ id }).first();
      });
    });
  }
  return Number(process.hrtime.bigint() - start) / 1e3 / (requests * variant.perRequest);
}

export async function runRlsBench(): Promise<RlsBenchResult> {
  const { backendFor, stopAll } = await import('../test/support/db-registry');
  const backend = await backendFor('pg');
  const database = await backend.createDatabase();
  const owner = knexFactory(database.config());
  const role = `ks_bench_${randomBytes(4).toString('hex')}`;
  const opened: Knex[] = [];
  try {
    await owner.schema.createTable('items', (t) => {
      t.integer('id').primary();
      t.integer('tenant_id').notNullable().index();
      t.string('name');
    });
    const rows = Array.from({ length: TENANTS * ROWS_PER_TENANT }, (_, i) => ({
      id: i + 1,
      tenant_id: 1 + Math.floor(i / ROWS_PER_TENANT),
      name: `item ${i + 1}`,
    }));
    for (let i = 0; i < rows.length; i += 1000) await owner('items').insert(rows.slice(i, i + 1000));
    await owner.raw('analyze items');
    const bridged = defineScopes({ tables: TABLES, rls: { setting: SETTING } });
    await bridged.rlsMigration().up(owner);
    await owner.raw(`create role ${role} login nosuperuser nobypassrls`);
    await owner.raw(`grant select on items to ${role}`);

    const config = database.config();
    const connect = (afterCreate?: Knex.PoolConfig['afterCreate']) => {
      const k = knexFactory({
        ...config,
        connection: { ...(config.connection as object), user: role },
        pool: { min: 1, max: 1, ...(afterCreate ? { afterCreate } : {}) },
      });
      opened.push(k);
      return k;
    };
    // Without the bridge: the same scope as a session value, made once per physical connection.
    const tenant1 = JSON.stringify({ enabled: true, values: { tenant: ['1'] } });
    const plain = defineScopes({ tables: TABLES }).wrap(
      connect(
        (conn: { query: (sql: string, cb: (e: unknown) => void) => void }, done: (e: unknown, c: unknown) => void) =>
          conn.query(`select set_config('${SETTING}', '${tenant1}', false)`, (e) => done(e, conn)),
      ),
    );
    const withBridge = bridged.wrap(connect());
    const dbOf = (v: Variant) => (v.bridge ? withBridge : plain);

    for (const v of VARIANTS) await run(dbOf(v), v, 200); // warm-up
    const samples = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of VARIANTS) samples.get(v.name)?.push(await run(dbOf(v), v, STATEMENTS));
    }
    const us = (name: string) => median(samples.get(name) ?? [0]);
    // Ratios are taken within each round (the variants of a round ran back to back), then the
    // median: steadier than a ratio of medians on a machine whose load drifts.
    const per = VARIANTS.map((v) => samples.get(v.name) ?? []) as [number[], number[], number[], number[]];
    const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] as number)));
    return {
      server: backend.description,
      rows: VARIANTS.map((v) => ({ name: v.name, usPerStatement: us(v.name) })),
      ratios: {
        autocommit: ratio(per[1], per[0]),
        transaction: ratio(per[3], per[2]),
        transactionVsPlainAutocommit: ratio(per[3], per[0]),
      },
    };
  } finally {
    await Promise.all(opened.map((k) => k.destroy()));
    await owner.raw(`drop owned by ${role}`).catch(() => {});
    await owner.raw(`drop role if exists ${role}`).catch(() => {});
    await owner.destroy();
    await database.drop();
    await stopAll();
  }
}

async function main(): Promise<void> {
  const result = await runRlsBench();
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`bench:rls on Node ${process.version}, PostgreSQL ${result.server}${quick ? ' (--quick)' : ''}`);
  console.log(
    `  primary-key selects through the query builder, median of ${ROUNDS} interleaved rounds (ratios: median of the rounds' ratios), 1 connection`,
  );
  for (const row of result.rows)
    console.log(`  ${row.name.padEnd(34)} ${row.usPerStatement.toFixed(0).padStart(6)} µs/statement`);
  const r = result.ratios;
  console.log(`  bridge/no-bridge, autocommit:               ${r.autocommit.toFixed(2)}`);
  console.log(`  bridge/no-bridge, per-request transaction:  ${r.transaction.toFixed(2)}`);
  console.log(
    `  per-request transaction with the bridge / autocommit without: ${r.transactionVsPlainAutocommit.toFixed(2)}`,
  );
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
