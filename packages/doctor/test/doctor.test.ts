// runDoctor() on real databases: a clean schema yields nothing, a drifted one every finding.
import assert from 'node:assert/strict';
import { type Finding, runDoctor } from '@knex-scopes/doctor';
import { forEachDialect } from '../../../test/support/databases';
import { cleanGlobal, cleanScopes, createCleanSchema, createDriftSchema, driftGlobal, driftScopes } from './schemas';

const brief = (f: Finding) => `${f.level} ${f.code} ${f.table ?? '-'}${f.column ? `.${f.column}` : ''}`;

forEachDialect('doctor: a clean schema', (db) => {
  before(() => createCleanSchema(db.knex()));

  it('yields no finding', async () => {
    const report = await runDoctor({ scopes: cleanScopes, knex: db.knex(), global: cleanGlobal });
    assert.deepEqual(report.findings.map(brief), []);
    assert.equal(report.errors, 0);
    assert.equal(report.warnings, 0);
    assert.equal(report.declaredTables, 4);
    assert.equal(report.databaseTables, 6);
    assert.equal(report.dialect, db.dialect);
  });

  it('reports the global table as undeclared when it is not listed, with its declaration line', async () => {
    const report = await runDoctor({ scopes: cleanScopes, knex: db.knex() });
    assert.deepEqual(report.findings.map(brief), ['error UNDECLARED_TABLE tenant_settings']);
    assert.match(report.findings[0]?.fix ?? '', /tenant_settings: \{ tenant: 'tenant_id' \},/);
  });

  it('takes a Knex config, and leaves a given instance open', async () => {
    const report = await runDoctor({ scopes: cleanScopes, knex: db.config(), global: cleanGlobal });
    assert.equal(report.findings.length, 0);
    await db.knex().raw('select 1'); // still usable
  });
});

forEachDialect('doctor: a drifted schema', (db) => {
  let findings: readonly Finding[] = [];
  before(async () => {
    await createDriftSchema(db.knex());
    findings = (await runDoctor({ scopes: driftScopes, knex: db.knex(), global: driftGlobal })).findings;
  });
  const find = (code: string, table: string) => {
    const found = findings.find((f) => f.code === code && f.table === table);
    assert.ok(found, `${code} on ${table} in ${findings.map(brief).join(', ')}`);
    return found;
  };

  it('finds exactly the seeded problems, errors first', () => {
    assert.deepEqual(findings.map(brief), [
      'error UNDECLARED_TABLE attachments',
      'error UNDECLARED_TABLE audit_events',
      'error MISSING_TABLE ghosts',
      'error PATH_NO_FOREIGN_KEY links.task_id',
      'error MISSING_COLUMN notes.tenant_id',
      'error MISSING_COLUMN stickers.sheet_id',
      'error PATH_NO_FOREIGN_KEY tags.task_ref',
      'error PATH_TYPE_MISMATCH tags.task_ref',
      'error MISSING_COLUMN tasks.uuid',
      // Both keys are real, and neither is the table's declared path hop.
      'warning FOREIGN_KEY_WITHOUT_TENANT labels.task_id',
      'warning MISSING_INDEX projects.tenant_id',
      'warning UNIQUE_WITHOUT_TENANT projects.name',
      'warning GLOBAL_TABLE_MISSING retired_table',
      'warning FOREIGN_KEY_WITHOUT_TENANT stickers.task_id',
      'warning FOREIGN_KEY_WITHOUT_TENANT tasks.project_id',
    ]);
  });

  it('names why an undeclared table belongs to a tenant, and the line that declares it', () => {
    const audit = find('UNDECLARED_TABLE', 'audit_events');
    assert.match(audit.message, /has the tenant column "tenant_id"/);
    assert.match(audit.fix, /audit_events: \{ tenant: 'tenant_id' \},/);
    const attachments = find('UNDECLARED_TABLE', 'attachments');
    assert.match(attachments.message, /foreign key \(task_id\) into the scoped table "tasks"/);
    assert.match(attachments.fix, /attachments: \{ tenant: 'task_id -> tasks\.tenant_id' \},/);
  });

  it('gives the SQL of each fix in the dialect read', () => {
    const q = (name: string) => (db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
    assert.equal(
      find('MISSING_INDEX', 'projects').fix,
      `CREATE INDEX ${q('projects_tenant_id_index')} ON ${q('projects')} (${q('tenant_id')});`,
    );
    const unique = find('UNIQUE_WITHOUT_TENANT', 'projects');
    assert.match(unique.message, /does not include the tenant column "tenant_id"/);
    assert.equal(
      unique.fix,
      {
        // Knex makes a unique index on SQLite, a constraint on PostgreSQL, a unique key on MySQL.
        sqlite:
          'DROP INDEX "projects_name_unique";\n' +
          'CREATE UNIQUE INDEX "projects_tenant_id_name_unique" ON "projects" ("tenant_id", "name");',
        pg: 'ALTER TABLE "projects" DROP CONSTRAINT "projects_name_unique", ADD CONSTRAINT "projects_name_unique" UNIQUE ("tenant_id", "name");',
        mysql:
          'ALTER TABLE `projects` DROP INDEX `projects_name_unique`, ADD UNIQUE INDEX `projects_name_unique` (`tenant_id`, `name`);',
      }[db.dialect],
    );
    const fk = find('FOREIGN_KEY_WITHOUT_TENANT', 'tasks');
    assert.ok(
      fk.fix.includes(
        `FOREIGN KEY (${q('tenant_id')}, ${q('project_id')}) REFERENCES ${q('projects')} (${q('tenant_id')}, ${q('id')})`,
      ),
      fk.fix,
    );
    // projects has no unique key on (tenant_id, id) for the composite key to point at.
    assert.ok(fk.fix.startsWith(`CREATE UNIQUE INDEX ${q('projects_tenant_id_id_unique')}`), fk.fix);
    const noKey = find('PATH_NO_FOREIGN_KEY', 'links');
    if (db.dialect === 'sqlite') assert.match(noKey.fix, /rebuild the table/);
    else assert.ok(noKey.fix.startsWith(`ALTER TABLE ${q('links')} ADD CONSTRAINT`), noKey.fix);
  });

  it('says what, why and how for every finding', () => {
    for (const f of findings) {
      assert.ok(f.message.length > 20 && f.why.length > 20 && f.fix.length > 10, brief(f));
    }
    assert.match(find('PATH_TYPE_MISMATCH', 'tags').message, /"tags"\."task_ref" is .*but "tasks"\."id".* is /);
    assert.match(find('MISSING_TABLE', 'ghosts').fix, /ghosts: \{ tenant: 'tenant_id' \},/);
    assert.match(
      find('MISSING_COLUMN', 'notes').message,
      /declared with \{ tenant: 'tenant_id' \}, but has no column "tenant_id"/,
    );
    // A path key's column is added with the type of the key it names.
    assert.match(find('MISSING_COLUMN', 'stickers').fix, /ADD COLUMN ["`]sheet_id["`] int/i);
    assert.match(find('MISSING_COLUMN', 'tasks').message, /The path of "labels" .* by its column "uuid"/);
  });

  it('reads another schema or database when asked', async function () {
    if (db.dialect === 'sqlite') this.skip();
    const other = db.dialect === 'pg' ? 'information_schema' : 'mysql';
    const report = await runDoctor({ scopes: driftScopes, knex: db.knex(), global: driftGlobal, schema: other });
    assert.equal(report.schema, other);
    assert.ok(report.findings.some((f) => f.code === 'MISSING_TABLE' && f.table === 'tenants'));
  });

  // Last: it changes the schema.
  it('runs the SQL it gives, after which those findings are gone and no other appeared', async () => {
    const sqlOnly = (f: Finding) => f.fix.split('\n').every((line) => /^(CREATE|ALTER|DROP) .*;$/.test(line));
    // A column's type before a key onto it.
    const applied = [...findings.filter(sqlOnly)].sort(
      (a, b) => Number(b.code === 'PATH_TYPE_MISMATCH') - Number(a.code === 'PATH_TYPE_MISMATCH'),
    );
    const expected = {
      sqlite: ['MISSING_INDEX projects.tenant_id', 'UNIQUE_WITHOUT_TENANT projects.name'],
      server: [
        'FOREIGN_KEY_WITHOUT_TENANT tasks.project_id',
        'MISSING_INDEX projects.tenant_id',
        'PATH_NO_FOREIGN_KEY links.task_id',
        'PATH_NO_FOREIGN_KEY tags.task_ref',
        'PATH_TYPE_MISMATCH tags.task_ref',
        'UNIQUE_WITHOUT_TENANT projects.name',
      ],
    }[db.dialect === 'sqlite' ? 'sqlite' : 'server'];
    assert.deepEqual(applied.map((f) => brief(f).replace(/^\w+ /, '')).sort(), expected);
    for (const f of applied) {
      for (const statement of f.fix.split('\n')) await db.knex().raw(statement);
    }
    const after = (await runDoctor({ scopes: driftScopes, knex: db.knex(), global: driftGlobal })).findings;
    assert.deepEqual(after.map(brief), findings.filter((f) => !applied.includes(f)).map(brief));
  });
});
