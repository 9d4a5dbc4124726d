// PATH_KEY_NOT_UNIQUE on real databases: a path's parent key must be unique on its own.
import assert from 'node:assert/strict';
import { type Finding, runDoctor } from '@knex-scopes/doctor';
import { forEachDialect } from '../../../test/support/databases';
import { createPathKeySchema, pathKeyScopes } from './schemas';

const brief = (f: Finding) => `${f.level} ${f.code} ${f.table ?? '-'}${f.column ? `.${f.column}` : ''}`;
const CODE = 'PATH_KEY_NOT_UNIQUE';

forEachDialect('doctor: path keys', (db) => {
  let findings: readonly Finding[] = [];
  before(async () => {
    await createPathKeySchema(db.knex(), db.dialect);
    findings = (await runDoctor({ scopes: pathKeyScopes, knex: db.knex() })).findings;
  });
  const find = (table: string) => {
    const found = findings.find((f) => f.code === CODE && f.table === table);
    assert.ok(found, `${CODE} on ${table} in ${findings.map(brief).join(', ')}`);
    return found;
  };

  it('reports each parent key that is not unique on its own, once, as an error', () => {
    assert.deepEqual(findings.filter((f) => f.code === CODE).map(brief), [
      'error PATH_KEY_NOT_UNIQUE folders.id', // unique (tenant_id, id) only
      'error PATH_KEY_NOT_UNIQUE kits.code', // primary key (tenant_id, code), a plain index
      'error PATH_KEY_NOT_UNIQUE sheets.id', // a plain index; two paths follow it
      'error PATH_KEY_NOT_UNIQUE stamps.id', // partial and expression unique indexes
    ]);
  });

  it('passes a key that is the primary key, or has a unique constraint or index of its own', () => {
    const passing = ['tenants', 'projects', 'boards'];
    assert.deepEqual(
      findings.filter((f) => passing.includes(f.table ?? '')).map(brief),
      [],
      'no finding at all: projects.code, a key paths follow, is not UNIQUE_WITHOUT_TENANT either',
    );
  });

  it('names one path that follows the key, and why each key on the column falls short', () => {
    const sheets = find('sheets');
    assert.equal(sheets.column, 'id');
    assert.match(
      sheets.message,
      /^"sheets"\."id" is not unique: .* the path of "cells" \("sheet_id -> sheets\.tenant_id"\)/,
    );
    assert.doesNotMatch(sheets.message, /charts/);
    assert.match(
      find('folders').message,
      /The unique (constraint|index) "folders_tenant_id_id_unique" \(tenant_id, id\) lets "id" repeat/,
    );
    assert.match(find('kits').message, /The primary key \(tenant_id, code\) lets "code" repeat/);
    assert.match(find('kits').message, /the path of "parts" \("kit_code -> kits\(code\)\.tenant_id"\)/);
    if (db.dialect !== 'mysql') {
      assert.match(find('stamps').message, /The unique index "stamps_id_partial" \(id\) is partial/);
    }
    for (const f of findings.filter((f) => f.code === CODE)) {
      assert.match(f.why, /inner join/);
      assert.match(f.why, /InnoDB/);
    }
  });

  it('names the foreign key InnoDB accepted onto a key that is not unique (MySQL/MariaDB)', function () {
    if (db.dialect !== 'mysql') this.skip();
    const kits = find('kits');
    assert.match(kits.message, /InnoDB accepted the foreign key "parts_kit_code_foreign" of "parts" onto it/);
    assert.ok(!findings.some((f) => f.code === 'PATH_NO_FOREIGN_KEY' && f.table === 'parts'));
  });

  it('gives the SQL that makes the key unique, in the dialect read', () => {
    const sql = {
      sqlite: 'CREATE UNIQUE INDEX "sheets_id_unique" ON "sheets" ("id");',
      pg: 'ALTER TABLE "sheets" ADD CONSTRAINT "sheets_id_unique" UNIQUE ("id");',
      mysql: 'ALTER TABLE `sheets` ADD UNIQUE INDEX `sheets_id_unique` (`id`);',
    }[db.dialect];
    const fix = find('sheets').fix;
    assert.ok(fix.split('\n').includes(`  ${sql}`), fix);
    assert.match(fix, /GROUP BY ["`]id["`] HAVING count\(\*\) > 1/);
  });

  // Last: it changes the schema.
  it('runs the SQL it gives, after which those findings are gone and no other appeared', async () => {
    const reported = findings.filter((f) => f.code === CODE);
    for (const f of reported) {
      const statements = f.fix.split('\n').filter((line) => /^ {2}(CREATE|ALTER) .*;$/.test(line));
      assert.equal(statements.length, 1, f.fix);
      for (const statement of statements) await db.knex().raw(statement.trim());
    }
    const after = (await runDoctor({ scopes: pathKeyScopes, knex: db.knex() })).findings;
    assert.deepEqual(after.map(brief), findings.filter((f) => !reported.includes(f)).map(brief));
  });
});
