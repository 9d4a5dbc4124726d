// The rewrite reads Knex internals: outside the tested releases, wrap() fails at start-up.
import assert from 'node:assert/strict';
import { defineScopes, isSupportedKnexVersion, SUPPORTED_KNEX_RANGE } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { compilerQuirks } from '../../dist/knex/compiler-quirks';
import type { ClientLike } from '../../dist/knex/knex-internals';
import { assertSupportedKnex } from '../../dist/knex/version-guard';
import { TABLES } from './fixtures';

const TESTED = ['2.5.1', '3.0.1', '3.1.0', '3.2.10', '3.3.0'];

describe('scoped Knex: version guard', () => {
  it('states the tested releases and accepts exactly them, with later patches of their lines', () => {
    assert.equal(SUPPORTED_KNEX_RANGE, '~2.5.1 || ~3.0.1 || ~3.1.0 || ~3.2.10 || ~3.3.0');
    for (const v of [...TESTED, '2.5.2', '3.0.2', '3.1.1', '3.2.11', '3.3.7'])
      assert.equal(isSupportedKnexVersion(v), true, v);
    // earlier patches of a tested line were not tested (3.2.9 still changed the builder)
    for (const v of ['1.0.7', '2.4.2', '2.5.0', '3.0.0', '3.2.0', '3.2.9', '3.3.1-next1', '3.4.0', '4.0.0', 'x'])
      assert.equal(isSupportedKnexVersion(v), false, v);
    const installed = (require('knex/package.json') as { version: string }).version;
    assert.equal(isSupportedKnexVersion(installed), true, `the installed knex ${installed} is in range`);
  });

  it('is the peer range of the packages that take a Knex instance', () => {
    for (const name of ['core', 'doctor', 'testing']) {
      const pkg = require(`../../../${name}/package.json`) as { peerDependencies?: Record<string, string> };
      assert.equal(pkg.peerDependencies?.knex, SUPPORTED_KNEX_RANGE, name);
    }
  });

  // scripts/test-knex.sh runs the suites against another release through a resolution hook:
  // make sure the Knex under test is that release, not the default one.
  const release = process.env.KNEX_SCOPES_KNEX || undefined;
  it(`tests the Knex release asked for (${release ?? 'the installed one'})`, function () {
    if (!release) this.skip();
    const installed = (require('knex/package.json') as { version: string }).version;
    assert.match(installed, new RegExp(`^${release.replace('.', '\\.')}\\.`));
    assert.equal(require.resolve('knex').includes(`/knex-${release}/`), true, require.resolve('knex'));
  });

  it('refuses an untested release at wrap(), naming the tested ones', () => {
    const client = knexFactory({ client: 'pg' }).client as unknown as ClientLike;
    for (const v of ['2.5.0', '3.2.9', '3.4.0']) {
      assert.throws(
        () => assertSupportedKnex(client, v),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'UNSUPPORTED_KNEX_VERSION');
          assert.match(e.message, new RegExp(`knex ${v.replace(/\./g, '\\.')} is installed`));
          assert.match(e.message, /\(tested: 2\.5\.1, 3\.0\.1, 3\.1\.0, 3\.2\.10, 3\.3\.0\)/);
          return true;
        },
      );
    }
    assert.doesNotThrow(() => assertSupportedKnex(client, '3.3.0'));
  });

  // what differs between releases is probed per dialect client at wrap() (compiler-quirks.ts),
  // and must agree with the releases Knex fixed each in (knex#6185, #6412, #6438, #6454)
  it('probes the compiler quirks of each dialect client at wrap()', () => {
    const [a = 0, b = 0, c = 0] = (require('knex/package.json') as { version: string }).version.split('.').map(Number);
    const before = (x: number, y: number, z: number) => (a !== x ? a < x : b !== y ? b < y : c < z);
    const expected = {
      pg: [false, false, before(3, 3, 0), before(3, 3, 0)],
      'better-sqlite3': [false, before(3, 3, 0), before(3, 2, 7), false],
      mysql2: [false, false, before(3, 2, 7), false],
    };
    for (const [name, [one, many, del, from]] of Object.entries(expected)) {
      const k = knexFactory({ client: name, useNullAsDefault: true });
      const client = k.client as unknown as ClientLike;
      assert.doesNotThrow(() => assertSupportedKnex(client));
      assert.deepEqual(
        compilerQuirks(client),
        {
          oneRowMergeWhereDropped: one,
          manyRowsMergeWhereDropped: many,
          deleteJoinBindingsLate: del,
          updateFromBindingsLate: from,
        },
        name,
      );
      void k.destroy();
    }
    assert.equal(compilerQuirks({} as ClientLike).manyRowsMergeWhereDropped, true, 'never probed: the worst assumed');
  });

  it('fails loudly at wrap() when the builder internals are not what the rewrite expects', () => {
    const real = knexFactory({ client: 'pg' });
    const client = real.client as Knex.Client & { queryBuilder(): unknown };
    const original = client.queryBuilder.bind(client);
    // a Knex whose builders keep their statements elsewhere, as a future version might
    (client as { queryBuilder: () => unknown }).queryBuilder = () => {
      const qb = original() as unknown as { _statements: unknown[] };
      qb._statements = new Proxy([], { get: (t, k) => (k === '0' || k === '1' ? undefined : Reflect.get(t, k)) });
      return qb;
    };
    assert.throws(
      () => defineScopes({ tables: TABLES }).wrap(real),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'UNSUPPORTED_KNEX_VERSION');
        assert.match(e.message, /builder internals of knex \d+\.\d+\.\d+ differ/);
        assert.match(
          e.message,
          /Supported Knex versions: ~2\.5\.1 \|\| ~3\.0\.1 \|\| ~3\.1\.0 \|\| ~3\.2\.10 \|\| ~3\.3\.0 /,
        );
        return true;
      },
    );
  });
});
