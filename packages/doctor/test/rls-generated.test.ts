// The doctor and core's policy generator agree (issue 23): with scopes that have the RLS bridge,
// the doctor's fix for a table without a policy is the generator's policy, the generator's
// policies (installed by the migration helper) leave a clean report, and the bridge then shows
// each scope its own rows only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defineScopes, scope, trustRaw } from '@knex-scopes/core';
import { type Finding, runDoctor } from '@knex-scopes/doctor';
import knex, { type Knex } from 'knex';
import { forEachDialect } from '../../../test/support/databases';
import { createRlsSchema } from './schemas';

const scopes = defineScopes({
  tables: {
    tenants: { tenant: 'id' },
    projects: { tenant: 'tenant_id' },
    tasks: { tenant: 'project_id -> projects.tenant_id' },
  },
  rls: { setting: 'knex_scopes.scope' },
});

const brief = (f: Finding) => `${f.code} ${f.table ?? '-'}`;

forEachDialect("doctor: row-level security from core's generator", (db) => {
  if (db.dialect !== 'pg') return;
  const role = `ks_gen_app_${randomBytes(4).toString('hex')}`;
  let app: Knex | undefined;
  let roleMade = false;

  before(async () => {
    await createRlsSchema(db.knex());
  });

  after(async () => {
    await app?.destroy();
    if (roleMade) {
      await db.knex().raw(`drop owned by ${role}`);
      await db.knex().raw(`drop role ${role}`);
    }
  });

  it("fixes a table without a policy with the generator's policy, which the doctor then accepts", async () => {
    await db.knex().raw('alter table projects enable row level security');
    await db.knex().raw('alter table projects force row level security');
    const report = await runDoctor({ scopes, knex: db.knex() });
    const fix = report.findings.find((f) => f.code === 'RLS_NO_POLICY' && f.table === 'projects')?.fix ?? '';
    assert.match(fix, /^CREATE OR REPLACE FUNCTION knex_scopes_ids\(setting text, dimension text\)/);
    assert.match(
      fix,
      /CREATE POLICY knex_scopes ON "projects" .*knex_scopes_ids\('knex_scopes\.scope', 'tenant'\).*::integer\[\]/,
    );
    for (const statement of fix.split('\n')) await db.knex().raw(statement);
    const again = await runDoctor({ scopes, knex: db.knex() });
    assert.deepEqual(again.findings.filter((f) => f.table === 'projects' && f.code.startsWith('RLS_')).map(brief), []);
  });

  it("after the migration helper, the app's role gets a clean report and the bridge shows each scope its rows", async function () {
    try {
      await db.knex().raw(`create role ${role} login nosuperuser nobypassrls`);
      roleMade = true;
    } catch (error) {
      console.log(`[doctor] cannot create roles here (${(error as Error).message}); skipped`);
      this.skip();
    }
    await db.knex().raw(`grant select, insert, update, delete on tenants, projects, tasks to ${role}`);
    await scopes.rlsMigration().up(db.knex());
    const config = db.config();
    app = knex({ ...config, connection: { ...(config.connection as object), user: role } });
    const report = await runDoctor({ scopes, knex: app });
    assert.deepEqual(report.findings.map(brief), []);
    const scoped = scopes.wrap(app);
    const visible = await scope(
      { tenant: 2 },
      () => trustRaw(scoped.raw('select id from tasks')) as unknown as Promise<{ rows: Array<{ id: number }> }>,
    );
    assert.deepEqual(
      visible.rows.map((r) => r.id),
      [200],
    );
    await scopes.rlsMigration().down(db.knex());
    const after = await runDoctor({ scopes, knex: db.knex() });
    assert.ok(after.findings.some((f) => f.code === 'RLS_NOT_ENABLED' && f.table === 'tasks'));
  });
});
