// The native addon matches the Node release running the suite. Under `npm run test:node -- <major>`
// better-sqlite3's addon comes from .cache/node/<major>/ (scripts/node-version-preload.cjs) and
// node_modules' host build must stay unloaded; under a plain `npm test`, the host build is used.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import knex from 'knex';

const sharedAddon = resolve(
  __dirname,
  '..',
  'node_modules',
  'better-sqlite3',
  'build',
  'Release',
  'better_sqlite3.node',
);

function loadedSharedObjects(): string[] {
  const report = process.report.getReport() as unknown as { sharedObjects: string[] };
  return report.sharedObjects;
}

describe(`native addons on Node ${process.version}`, () => {
  it('knex runs a query on better-sqlite3', async () => {
    const db = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    try {
      await db.schema.createTable('pages', (t) => {
        t.integer('id');
        t.integer('tenant_id');
      });
      await db('pages').insert([
        { id: 1, tenant_id: 1 },
        { id: 2, tenant_id: 2 },
      ]);
      assert.deepEqual(await db('pages').where({ tenant_id: 2 }).select('id'), [{ id: 2 }]);
    } finally {
      await db.destroy();
    }
  });

  it('the addon loaded is the one built for this release', () => {
    const objects = loadedSharedObjects().filter((path) => path.endsWith('better_sqlite3.node'));
    const expected = resolve(process.env.KNEX_SCOPES_SQLITE_BINDING || sharedAddon);
    // Exactly one: under test:node the host build in node_modules must not be loaded at all.
    assert.deepEqual(objects, [expected]);
  });

  it('the addon is not built with node::ObjectWrap cleanup hooks', () => {
    // Compiled against Node >= 24.19 headers, better-sqlite3 12's Statement destructor calls
    // node::RemoveEnvironmentCleanupHook and aborts the process when V8 collects a statement
    // outside a JS call (nodejs/node#65446): at a random moment, so check the binary itself.
    // scripts/sqlite-for-node.sh compiles against earlier headers of the same line.
    const addon = resolve(process.env.KNEX_SCOPES_SQLITE_BINDING || sharedAddon);
    assert.ok(!readFileSync(addon).includes('RemoveEnvironmentCleanupHook'), `${addon} links the hook`);
  });
});
