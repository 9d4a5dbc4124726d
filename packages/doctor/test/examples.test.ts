// Pointed at the examples' database with the examples' declaration, the doctor finds no error.
import assert from 'node:assert/strict';
import { runDoctor } from '@knex-scopes/doctor';
import { prepareDatabase, scopes } from 'knex-scopes-example-shared';
import { forEachDialect } from '../../../test/support/databases';

forEachDialect("doctor: the examples' database", (db) => {
  before(() => prepareDatabase(db.knex()));

  it('has no error-level finding', async () => {
    const report = await runDoctor({ scopes, knex: db.knex() });
    const errors = report.findings.filter((f) => f.level === 'error');
    assert.deepEqual(
      errors.map((f) => `${f.code} ${f.table}: ${f.message}`),
      [],
    );
    assert.equal(report.declaredTables, 7);
    assert.equal(report.databaseTables, 7);
  });
});
