// PostgreSQL with the RLS bridge on: row-level security flags, policies and the app's role.
// The bridge's option is newer than core's types, so the scopes carry it as a plain field.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defineScopes, type Scopes } from '@knex-scopes/core';
import { type Finding, runDoctor } from '@knex-scopes/doctor';
import knex, { type Knex } from 'knex';
import { forEachDialect } from '../../../test/support/databases';
import { createRlsSchema } from './schemas';

const SETTING = 'app.tenant_id';
const plain = defineScopes({
  tables: {
    tenants: { tenant: 'id' },
    projects: { tenant: 'tenant_id' },
    tasks: { tenant: 'project_id -> projects.tenant_id' },
  },
});
const bridged = { ...plain, rls: { setting: SETTING } } as Scopes;

const brief = (f: Finding) => `${f.code} ${f.table ?? '-'}`;
const rlsOnly = (findings: readonly Finding[]) => findings.filter((f) => f.code.startsWith('RLS_')).map(brief);

forEachDialect('doctor: row-level security', (db) => {
  if (db.dialect !== 'pg') return;
  const suffix = randomBytes(4).toString('hex');
  const roles = { app: `ks_app_${suffix}`, owner: `ks_owner_${suffix}`, bypass: `ks_bypass_${suffix}` };
  const opened: Knex[] = [];
  let rolesMade = false;

  const as = (role: string): Knex => {
    const config = db.config();
    const instance = knex({ ...config, connection: { ...(config.connection as object), user: role } });
    opened.push(instance);
    return instance;
  };

  before(async () => {
    await createRlsSchema(db.knex());
  });

  after(async () => {
    await Promise.all(opened.map((k) => k.destroy()));
    if (!rolesMade) return;
    for (const role of Object.values(roles)) {
      await db.knex().raw(`drop owned by ${role}`);
      await db.knex().raw(`drop role ${role}`);
    }
  });

  it('runs no RLS check without the bridge', async () => {
    const report = await runDoctor({ scopes: plain, knex: db.knex() });
    assert.equal(report.rlsChecked, false);
    assert.deepEqual(report.findings, []);
  });

  it('as a superuser on bare tables: RLS off, no policy, a role that bypasses it all', async () => {
    const report = await runDoctor({ scopes: bridged, knex: db.knex() });
    assert.equal(report.rlsChecked, true);
    assert.deepEqual(rlsOnly(report.findings), [
      'RLS_ROLE_BYPASSES -',
      'RLS_NOT_ENABLED projects',
      'RLS_NO_POLICY projects',
      'RLS_NOT_ENABLED tasks',
      'RLS_NO_POLICY tasks',
      'RLS_NOT_ENABLED tenants',
      'RLS_NO_POLICY tenants',
    ]);
    assert.equal(report.errors, 0);
    const bypass = report.findings.find((f) => f.code === 'RLS_ROLE_BYPASSES');
    assert.match(bypass?.message ?? '', /a superuser/);
    assert.match(bypass?.fix ?? '', /NOSUPERUSER NOBYPASSRLS/);
  });

  it('enabled but not forced, and a policy that does not read the setting', async () => {
    await db.knex().raw('alter table projects enable row level security');
    await db.knex().raw('create policy everyone on projects using (true)');
    const report = await runDoctor({ scopes: bridged, knex: db.knex() });
    const projects = report.findings.filter((f) => f.table === 'projects');
    assert.deepEqual(projects.map(brief), ['RLS_NOT_FORCED projects', 'RLS_NO_POLICY projects']);
    assert.match(projects[1]?.message ?? '', /None of the 1 policies of "projects" reads the setting "app\.tenant_id"/);
    await db.knex().raw('drop policy everyone on projects');
  });

  it("applies its own fixes, then the app's role sees a clean report and only its tenant's rows", async function () {
    try {
      await db.knex().raw(`create role ${roles.app} login nosuperuser nobypassrls`);
      await db.knex().raw(`create role ${roles.owner} login nosuperuser nobypassrls`);
      await db.knex().raw(`create role ${roles.bypass} login nosuperuser bypassrls`);
      rolesMade = true;
    } catch (error) {
      console.log(`[doctor] cannot create roles here (${(error as Error).message}); skipped`);
      this.skip();
    }
    for (const role of Object.values(roles)) {
      await db.knex().raw(`grant select, insert, update, delete on tenants, projects, tasks to ${role}`);
    }
    const before = await runDoctor({ scopes: bridged, knex: db.knex() });
    for (const f of before.findings.filter((f) => /^RLS_(NOT_ENABLED|NOT_FORCED|NO_POLICY)$/.test(f.code))) {
      for (const statement of f.fix.split('\n')) await db.knex().raw(statement);
    }

    const app = as(roles.app);
    const report = await runDoctor({ scopes: bridged, knex: app });
    assert.deepEqual(report.findings.map(brief), []);
    const visible = await app.transaction(async (trx) => {
      await trx.raw('select set_config(?, ?, true)', [SETTING, '2']);
      return (await trx('tasks').select('id')).map((r: { id: number }) => r.id);
    });
    assert.deepEqual(visible, [200]);
  });

  it("names a role with BYPASSRLS, and the tables the app's role owns", async function () {
    if (!rolesMade) this.skip();
    const bypass = await runDoctor({ scopes: bridged, knex: as(roles.bypass) });
    assert.deepEqual(bypass.findings.map(brief), ['RLS_ROLE_BYPASSES -']);
    assert.equal(bypass.findings[0]?.fix, `ALTER ROLE "${roles.bypass}" NOBYPASSRLS;`);

    await db.knex().raw(`alter table projects owner to ${roles.owner}`);
    await db.knex().raw(`alter table tasks owner to ${roles.owner}`);
    const owner = await runDoctor({ scopes: bridged, knex: as(roles.owner) });
    assert.deepEqual(owner.findings.map(brief), ['RLS_ROLE_IS_OWNER -']);
    assert.match(owner.findings[0]?.message ?? '', /owns .* "projects", "tasks"/);
    assert.match(owner.findings[0]?.fix ?? '', /ALTER TABLE "projects" OWNER TO migrator;/);
  });
});
