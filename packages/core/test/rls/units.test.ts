// Issue 23, the parts that need no database: the option, the setting's value, the statement
// classes the bridge tells apart, and the SQL the generator writes.
import assert from 'node:assert/strict';
import { ALL, defineScopes, getScope, isScopeError, scope, scopesDisabled } from '@knex-scopes/core';
import knexFactory from 'knex';
import { settingValue, sqlLiteral } from '../../dist/rls/rls-setting';
import { statementKind } from '../../dist/rls/rls-statements';

const TABLES = {
  tenants: { tenant: 'id' },
  items: { tenant: 'tenant_id' },
  notes: { tenant: 'item_id -> items.tenant_id' },
  bookmarks: { tenant: 'note_id -> notes.item_id -> items.tenant_id', user: 'user_id' },
} as const;

const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => isScopeError(e, 'INVALID_DEFINITION') && message.test((e as Error).message));

describe('RLS bridge: the option', () => {
  it('is validated: a setting with a dot, known keys only, SQL type names', () => {
    refused(() => defineScopes({ tables: TABLES, rls: {} as never }), /setting must name a custom setting/);
    refused(() => defineScopes({ tables: TABLES, rls: { setting: 'tenant' } }), /with a dot/);
    refused(() => defineScopes({ tables: TABLES, rls: { setting: "a.b'; drop table x; --" } }), /setting/);
    refused(
      () => defineScopes({ tables: TABLES, rls: { setting: 'a.b', pooled: true } as never }),
      /unknown option\(s\) "pooled"/,
    );
    refused(
      () => defineScopes({ tables: TABLES, rls: { setting: 'a.b', citus: 'yes' } as never }),
      /citus must be a boolean/,
    );
    refused(
      () => defineScopes({ tables: TABLES, rls: { setting: 'a.b', types: { tenant: 'int; drop' } } }),
      /types\["tenant"\]/,
    );
    refused(() => defineScopes({ tables: TABLES, rls: 'on' as never }), /takes an object/);
    const scopes = defineScopes({ tables: TABLES, rls: { setting: 'knex_scopes.scope', types: { user: 'text' } } });
    assert.deepEqual(scopes.rls, { setting: 'knex_scopes.scope', citus: false, types: { user: 'text' } });
    assert.equal(defineScopes({ tables: TABLES }).rls, undefined);
  });

  it('is refused on a client other than PostgreSQL, at wrap()', () => {
    const sqlite = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    try {
      refused(
        () => defineScopes({ tables: TABLES, rls: { setting: 'knex_scopes.scope' } }).wrap(sqlite),
        /the rls option needs PostgreSQL .* "sqlite3"/,
      );
    } finally {
      void sqlite.destroy();
    }
    const pg = knexFactory({ client: 'pg' });
    const wrapped = defineScopes({ tables: TABLES, rls: { setting: 'knex_scopes.scope' } }).wrap(pg);
    assert.equal(typeof wrapped, 'function');
    void pg.destroy();
  });

  it('rlsPolicySql() and rlsMigration() need the option', () => {
    refused(() => defineScopes({ tables: TABLES }).rlsPolicySql(), /needs the RLS bridge/);
    refused(() => defineScopes({ tables: TABLES }).rlsMigration(), /needs the RLS bridge/);
  });
});

describe('RLS bridge: the setting', () => {
  it('says disabled and ALL explicitly; keys are strings in an array; no scope is an empty set', () => {
    assert.equal(settingValue(getScope()), '{"enabled":true,"values":{}}');
    assert.equal(
      scope({ tenant: 7 }, () => settingValue(getScope())),
      '{"enabled":true,"values":{"tenant":["7"]}}',
    );
    assert.equal(
      scope({ tenant: [1, 2n, 'all'] }, () => settingValue(getScope())),
      '{"enabled":true,"values":{"tenant":["1","2","all"]}}',
    );
    assert.equal(
      scope({ tenant: ALL }, () => settingValue(getScope())),
      '{"enabled":true,"values":{"tenant":"all"}}',
    );
    assert.equal(
      scope({ tenant: 3 }, () => scopesDisabled(() => settingValue(getScope()))),
      '{"enabled":false,"values":{"tenant":["3"]}}',
    );
    assert.equal(
      scope({ tenant: `o'x\\y` }, () => settingValue(getScope())),
      '{"enabled":true,"values":{"tenant":["o\'x\\\\y"]}}',
    );
  });

  it('is inlined as a literal safe for the simple protocol', () => {
    assert.equal(sqlLiteral("a'b"), "'a''b'");
    assert.equal(sqlLiteral('a\\b'), "E'a\\\\b'");
  });
});

describe('RLS bridge: statement classes', () => {
  const cases: Array<[string, string]> = [
    ['select 1', 'plain'],
    ['insert into items values (1)', 'plain'],
    ['with x as (select 1) select * from x', 'plain'],
    ['set local statement_timeout = 1', 'plain'],
    ['BEGIN;', 'begin'],
    ['BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY;', 'begin'],
    ['start transaction', 'begin'],
    ['  -- a comment\n  /* another */ begin', 'begin'],
    ['COMMIT;', 'end'],
    ['end', 'end'],
    ['ROLLBACK', 'end'],
    ['abort', 'end'],
    ["prepare transaction 'x'", 'end'],
    ['prepare s as select 1', 'plain'],
    ['ROLLBACK TO SAVEPOINT trx2', 'rollback-to'],
    ['rollback work to s', 'rollback-to'],
    ['rollback transaction to savepoint s', 'rollback-to'],
    ['SAVEPOINT trx2;', 'savepoint'],
    ['RELEASE SAVEPOINT trx2;', 'savepoint'],
    ['vacuum items', 'no-transaction'],
    ['VACUUM (ANALYZE) items', 'no-transaction'],
    ['create index concurrently i on items (id)', 'no-transaction'],
    ['create unique index concurrently i on items (id)', 'no-transaction'],
    ['drop index concurrently i', 'no-transaction'],
    ['reindex table concurrently items', 'no-transaction'],
    ['create database x', 'no-transaction'],
    ['alter system set work_mem = 1', 'no-transaction'],
    ["commit prepared 'x'", 'no-transaction'],
    ['create index i on items (id)', 'plain'],
    ['cluster items using i', 'plain'],
    ['cluster', 'no-transaction'],
  ];
  for (const [sql, kind] of cases)
    it(`${JSON.stringify(sql)} is ${kind}`, () => assert.equal(statementKind(sql), kind));
});

describe('RLS bridge: rlsPolicySql()', () => {
  const scopes = defineScopes({ tables: TABLES, rls: { setting: 'knex_scopes.scope', types: { user: 'text' } } });
  const sql = scopes.rlsPolicySql();

  it('starts with the helper, which maps NULL and an empty setting to no tenant', () => {
    assert.match(
      sql[0] ?? '',
      /^CREATE OR REPLACE FUNCTION knex_scopes_ids\(setting text, dimension text\) RETURNS text\[\]/,
    );
    assert.match(sql[0] ?? '', /v jsonb := nullif\(current_setting\(setting, true\), ''\)::jsonb;/);
    assert.match(sql[0] ?? '', /IF v IS NULL THEN RETURN '\{\}'; END IF;/);
    assert.match(sql[0] ?? '', /LANGUAGE plpgsql STABLE/);
  });

  it('per table: ENABLE, FORCE and one policy with USING and WITH CHECK', () => {
    assert.equal(sql.length, 1 + 4 * 4);
    for (const table of Object.keys(TABLES)) {
      assert.ok(sql.includes(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`), table);
      assert.ok(sql.includes(`ALTER TABLE "${table}" FORCE ROW LEVEL SECURITY`), table);
      assert.ok(sql.includes(`DROP POLICY IF EXISTS knex_scopes ON "${table}"`), table);
      const create = sql.find((s) =>
        s.startsWith(`CREATE POLICY knex_scopes ON "${table}" AS PERMISSIVE FOR ALL USING (`),
      );
      assert.ok(create, table);
      const m = /USING \((.*)\) WITH CHECK \((.*)\)$/.exec(create ?? '');
      assert.equal(m?.[1], m?.[2], 'USING and WITH CHECK hold the same condition');
    }
  });

  it('a direct column, an FK path of two hops, and two dimensions ANDed', () => {
    const call = (d: string) => `(SELECT knex_scopes_ids('knex_scopes.scope', '${d}'))`;
    const items = sql.find((s) => s.startsWith('CREATE POLICY knex_scopes ON "items"'));
    assert.ok(
      items?.includes(`USING ((${call('tenant')} IS NULL OR "tenant_id" = ANY (${call('tenant')}::bigint[])))`),
    );
    const bookmarks = sql.find((s) => s.startsWith('CREATE POLICY knex_scopes ON "bookmarks"')) ?? '';
    assert.ok(
      bookmarks.includes(
        `(${call('tenant')} IS NULL OR "note_id" IN (SELECT "notes"."id" FROM "notes" WHERE "notes"."item_id" IN ` +
          `(SELECT "items"."id" FROM "items" WHERE "items"."tenant_id" = ANY (${call('tenant')}::bigint[])))) AND ` +
          `(${call('user')} IS NULL OR "user_id" = ANY (${call('user')}::text[]))`,
      ),
      bookmarks,
    );
  });

  it('types per column, a schema, and the Citus option changes nothing in the policies', () => {
    const other = scopes.rlsPolicySql({ schema: 'app', types: { 'items.tenant_id': 'uuid' } });
    assert.match(other[0] ?? '', /FUNCTION "app"\.knex_scopes_ids/);
    assert.ok(other.some((s) => s.includes('ON "app"."items"') && s.includes('::uuid[]')));
    refused(() => scopes.rlsPolicySql({ schema: 'a b' }), /schema must be a plain identifier/);
    refused(() => scopes.rlsPolicySql({ types: { tenant: 'int[]); drop table x; --' } }), /types\["tenant"\]/);
    const citus = defineScopes({
      tables: TABLES,
      rls: { setting: 'knex_scopes.scope', citus: true, types: { user: 'text' } },
    });
    assert.deepEqual(citus.rlsPolicySql(), sql);
  });
});
