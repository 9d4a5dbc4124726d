// The test-database helper's own test: every dialect really stores and returns rows, suites are
// isolated, and the dialect differences other suites rely on are pinned down here.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import knex, { type Knex } from 'knex';
import { type Dialect, dialectStatuses, forEachDialect, statusLines, type TestDb } from './databases';

async function tableNames(db: TestDb): Promise<string[]> {
  const k = db.knex();
  const rows: Array<{ name: string }> =
    db.dialect === 'sqlite'
      ? await k('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').select('name')
      : db.dialect === 'pg'
        ? await k('pg_tables').where({ schemaname: 'public' }).select('tablename as name')
        : await k('information_schema.tables').whereRaw('table_schema = database()').select('table_name as name');
  return rows.map((row) => row.name).sort();
}

async function databaseExists(dialect: Dialect, k: Knex, name: string, config: Knex.Config): Promise<boolean> {
  if (dialect === 'sqlite') return existsSync((config.connection as { filename: string }).filename);
  const query =
    dialect === 'pg'
      ? k('pg_database').where({ datname: name })
      : k('information_schema.schemata').where({ schema_name: name });
  return (await query.select(k.raw('1 as found'))).length > 0;
}

forEachDialect('test databases', (db) => {
  before(async () => {
    await db.knex().schema.createTable('pages', (table) => {
      table.increments('id');
      table.integer('tenant_id').notNullable();
      table.string('title').notNullable();
    });
  });

  it('knex() and config() are the suite database, named ks_<random>', () => {
    assert.match(db.database(), /^ks_[0-9a-f]{10}$/);
    const config = db.config();
    assert.equal(config.client, { sqlite: 'better-sqlite3', pg: 'pg', mysql: 'mysql2' }[db.dialect]);
    assert.equal(db.knex().client.config.client, config.client);
    assert.notEqual(db.config(), config, 'each call gives a new config object');
  });

  it('inserts rows and selects them back', async () => {
    await db
      .knex()('pages')
      .insert([
        { tenant_id: 1, title: 'one' },
        { tenant_id: 2, title: 'two' },
        { tenant_id: 1, title: 'three' },
      ]);
    const rows = await db.knex()('pages').where({ tenant_id: 1 }).orderBy('id').select('id', 'title');
    assert.deepEqual(rows, [
      { id: 1, title: 'one' },
      { id: 3, title: 'three' },
    ]);
  });

  it('keeps the database for the whole suite: the rows of the previous test are there', async () => {
    const row = await db.knex()('pages').count({ count: '*' }).first();
    // PostgreSQL returns count(*) (a bigint) as a string.
    assert.equal(row?.count, db.dialect === 'pg' ? '3' : 3);
    assert.deepEqual(await tableNames(db), ['pages']);
  });

  it('returning(): rows on sqlite and pg; knex ignores it on mysql, where insert gives the first id', async () => {
    const insert = db
      .knex()('pages')
      .insert([
        { tenant_id: 3, title: 'four' },
        { tenant_id: 3, title: 'five' },
      ]);
    if (db.dialect === 'mysql') {
      assert.deepEqual(await insert, [4]);
    } else {
      assert.deepEqual(await insert.returning(['id', 'title']), [
        { id: 4, title: 'four' },
        { id: 5, title: 'five' },
      ]);
    }
    const deleted = await db.knex()('pages').where({ tenant_id: 3 }).delete();
    assert.equal(deleted, 2);
  });

  it('quotes identifiers: reserved words and mixed case round-trip', async () => {
    const k = db.knex();
    const quote = db.dialect === 'pg' ? '"' : '`';
    assert.equal(
      k('Odd Table').select('order').toSQL().sql,
      `select ${quote}order${quote} from ${quote}Odd Table${quote}`,
    );
    await k.schema.createTable('Odd Table', (table) => {
      table.integer('order');
      table.string('TenantId');
    });
    await k('Odd Table').insert({ order: 7, TenantId: 'a' });
    assert.deepEqual(await k('Odd Table').select('order', 'TenantId'), [{ order: 7, TenantId: 'a' }]);
    assert.deepEqual(await tableNames(db), ['Odd Table', 'pages']);
  });

  it('config() builds a second Knex instance on the same database', async () => {
    const other = knex(db.config());
    try {
      const titles = await other('pages').orderBy('id').pluck('title');
      assert.deepEqual(titles, ['one', 'two', 'three']);
      await other('pages').insert({ tenant_id: 9, title: 'from the other instance' });
      assert.equal((await db.knex()('pages').where({ tenant_id: 9 }).first('title'))?.title, 'from the other instance');
    } finally {
      await other.destroy();
    }
  });

  it('rolls a transaction back', async () => {
    await assert.rejects(
      db.knex().transaction(async (trx) => {
        await trx('pages').insert({ tenant_id: 5, title: 'rolled back' });
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual(await db.knex()('pages').where({ tenant_id: 5 }), []);
  });
});

// Two suites of one dialect: the second gets another, empty database, and the first one's is gone.
const first = new Map<Dialect, { name: string; config: Knex.Config }>();

forEachDialect('test databases isolation, first suite', (db) => {
  it('writes a marker table', async () => {
    await db.knex().schema.createTable('marker', (table) => table.string('suite'));
    await db.knex()('marker').insert({ suite: 'first' });
    first.set(db.dialect, { name: db.database(), config: db.config() });
  });
});

forEachDialect('test databases isolation, second suite', (db) => {
  it('starts empty, on another database, and the first suite’s database was dropped', async () => {
    const previous = first.get(db.dialect);
    assert.ok(previous, 'the first suite ran');
    assert.notEqual(db.database(), previous.name);
    assert.deepEqual(await tableNames(db), []);
    assert.equal(await databaseExists(db.dialect, db.knex(), db.database(), db.config()), true);
    assert.equal(await databaseExists(db.dialect, db.knex(), previous.name, previous.config), false);
  });
});

describe('test databases status', () => {
  it('reports every dialect with one line, and which are ready', () => {
    const lines = statusLines();
    assert.equal(lines.length, 3);
    for (const [index, dialect] of ['sqlite', 'pg', 'mysql'].entries()) {
      assert.ok(lines[index]!.startsWith(`[databases] ${dialect}: `), lines[index]);
    }
    const sqlite = dialectStatuses().find((status) => status.dialect === 'sqlite')!;
    if (sqlite.state !== 'deselected') assert.equal(sqlite.state, 'ready');
    // a dialect that did not run says how to run it
    dialectStatuses().forEach((status, index) => {
      const ran = status.state === 'ready' || status.state === 'unused';
      assert.equal(/ — to run it: /.test(lines[index] as string), !ran, lines[index]);
    });
  });
});
