// The rewrite reads Knex internals: outside the tested range, wrap() fails at start-up.
import assert from 'node:assert/strict';
import { defineScopes, isSupportedKnexVersion, SUPPORTED_KNEX_RANGE } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { TABLES } from './fixtures';

describe('scoped Knex: version guard', () => {
  it('states the tested range and accepts exactly it', () => {
    assert.equal(SUPPORTED_KNEX_RANGE, '>=3.3.0 <3.4.0');
    assert.equal(isSupportedKnexVersion('3.3.0'), true);
    assert.equal(isSupportedKnexVersion('3.3.7'), true);
    for (const v of ['3.2.9', '3.4.0', '2.5.1', '4.0.0', 'not-a-version'])
      assert.equal(isSupportedKnexVersion(v), false, v);
    const installed = (require('knex/package.json') as { version: string }).version;
    assert.equal(isSupportedKnexVersion(installed), true, `the installed knex ${installed} is in range`);
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
        assert.match(e.message, /builder internals of knex 3\.3\.\d+ differ/);
        assert.match(e.message, /Supported Knex versions: >=3\.3\.0 <3\.4\.0/);
        return true;
      },
    );
  });
});
