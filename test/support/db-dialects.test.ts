// Which dialects a run selects and requires, from the environment alone.
import assert from 'node:assert/strict';
import { connectionFromUrl } from './db-backend';
import { type DialectPlan, planDialects } from './db-dialects';

function summary(plans: DialectPlan[]): Record<string, string> {
  return Object.fromEntries(
    plans.map((plan) => [plan.dialect, `${plan.source.kind}${plan.required ? ' required' : ''}`]),
  );
}

describe('test database dialect plan', () => {
  const pgBin = { PG_BIN: '/nonexistent' }; // no PostgreSQL binaries

  it('selects every dialect and requires none by default', () => {
    const plans = planDialects({ ...pgBin, PATH: '' });
    assert.deepEqual(
      plans.map((plan) => plan.dialect),
      ['sqlite', 'pg', 'mysql'],
    );
    assert.equal(summary(plans).sqlite, 'sqlite');
    assert.deepEqual(plans[1]!.source, {
      kind: 'missing',
      reason: 'no PG_URL and no PostgreSQL server binaries (initdb, postgres)',
    });
    assert.ok(plans.every((plan) => !plan.required));
  });

  it('uses PG_URL (or DATABASE_URL_PG) and MYSQL_URL first', () => {
    const env = { DATABASE_URL_PG: 'postgres://b@h/db', MYSQL_URL: 'mysql://root@h:3307/' };
    assert.deepEqual(planDialects(env)[1]!.source, { kind: 'url', env: 'DATABASE_URL_PG', url: 'postgres://b@h/db' });
    assert.deepEqual(planDialects({ ...env, PG_URL: 'postgres://a@h/db' })[1]!.source, {
      kind: 'url',
      env: 'PG_URL',
      url: 'postgres://a@h/db',
    });
    assert.equal(planDialects(env)[2]!.source.kind, 'url');
  });

  it('CI=true requires every selected dialect; KNEX_SCOPES_DIALECTS narrows the selection', () => {
    const env = { PG_URL: 'postgres://h/db', MYSQL_URL: 'mysql://h/' };
    assert.deepEqual(summary(planDialects({ ...env, CI: 'true' })), {
      sqlite: 'sqlite required',
      pg: 'url required',
      mysql: 'url required',
    });
    assert.deepEqual(summary(planDialects({ ...env, CI: 'true', KNEX_SCOPES_DIALECTS: 'sqlite, PG' })), {
      sqlite: 'sqlite required',
      pg: 'url required',
      mysql: 'deselected',
    });
  });

  it('KNEX_SCOPES_REQUIRE_DIALECTS names the required ones, even when the dialect is missing', () => {
    const plans = planDialects({ ...pgBin, PATH: '', CI: 'true', KNEX_SCOPES_REQUIRE_DIALECTS: 'pg' });
    assert.deepEqual(
      plans.map((plan) => plan.required),
      [false, true, false],
    );
    assert.equal(plans[1]!.source.kind, 'missing');
  });

  it('refuses unknown dialect names and a required dialect that is not selected', () => {
    assert.throws(() => planDialects({ KNEX_SCOPES_DIALECTS: 'sqlite,postgres' }), /unknown dialect "postgres"/);
    assert.throws(
      () => planDialects({ KNEX_SCOPES_DIALECTS: 'sqlite', KNEX_SCOPES_REQUIRE_DIALECTS: 'sqlite,mysql' }),
      /mysql is required but KNEX_SCOPES_DIALECTS=sqlite leaves it out/,
    );
  });

  it('reads a server URL into a connection, decoding user and password', () => {
    assert.deepEqual(connectionFromUrl('postgres://us%40er:p%3Aw@db.local:6543/admin', 5432), {
      host: 'db.local',
      port: 6543,
      user: 'us@er',
      password: 'p:w',
      database: 'admin',
    });
    assert.deepEqual(connectionFromUrl('mysql://root@127.0.0.1/', 3306), {
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
    });
  });
});
