// DATABASE_URL picks the examples' database: SQLite by default, PostgreSQL or MySQL/MariaDB.
import assert from 'node:assert/strict';
import { chooseDatabase } from 'knex-scopes-example-shared';

describe('examples: DATABASE_URL', () => {
  it('defaults to the SQLite file, and takes sqlite:<path>', () => {
    const fallback = chooseDatabase(undefined, '/tmp/x/example.sqlite3');
    assert.equal(fallback.config.client, 'better-sqlite3');
    assert.deepEqual(fallback.config.connection, { filename: '/tmp/x/example.sqlite3' });
    assert.deepEqual(chooseDatabase('sqlite:/tmp/y.db', 'unused').config.connection, { filename: '/tmp/y.db' });
  });

  it('maps postgres://, mysql:// and mariadb:// to their drivers, never printing the password', () => {
    const pg = chooseDatabase('postgres://app:secret@db.internal:5432/app', '');
    assert.equal(pg.config.client, 'pg');
    assert.equal(pg.config.connection, 'postgres://app:secret@db.internal:5432/app');
    assert.equal(pg.description, 'PostgreSQL (db.internal:5432/app)');
    const maria = chooseDatabase('mariadb://app:secret@localhost/app', '');
    assert.equal(maria.config.client, 'mysql2');
    assert.equal(maria.config.connection, 'mysql://app:secret@localhost/app');
    assert.doesNotMatch(maria.description, /secret/);
  });

  it('refuses anything else with a message that lists what works', () => {
    assert.throws(() => chooseDatabase('mongodb://x/y', ''), /must start with postgres:\/\/, mysql:\/\//);
  });
});
