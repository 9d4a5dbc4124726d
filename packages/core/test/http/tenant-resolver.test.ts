import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { ALL, isScopeError, type ScopeError, type ScopeValues } from '@knex-scopes/core';
import {
  firstOf,
  fromHeader,
  fromSubdomain,
  type KeyResolver,
  type TenantResolution,
  tenantResolver,
} from '@knex-scopes/core/http';
import { type FakeRequestInit, fakeRequest } from './fake-request';

interface Tenant {
  readonly id: number;
  readonly slug: string;
}

const TENANTS: readonly Tenant[] = [
  { id: 1, slug: 'acme' },
  { id: 2, slug: 'beta' },
];

function countingLookup() {
  const calls: string[] = [];
  const lookup = async (key: string) => {
    calls.push(key);
    await new Promise((resolve) => setTimeout(resolve, 2));
    return TENANTS.find((t) => t.slug === key);
  };
  return { calls, lookup };
}

function refusal<T>(resolution: TenantResolution<T>): ScopeError {
  assert.equal(resolution.ok, false);
  return (resolution as { error: ScopeError }).error;
}

const header = (value: string): FakeRequestInit => ({ headers: { 'x-tenant': value } });

describe('http: tenantResolver', () => {
  it('resolves a key to its tenant and a fresh frozen state with { tenant: id }', async () => {
    const resolver = tenantResolver({ from: fromHeader('x-tenant'), lookup: countingLookup().lookup });
    const resolution = await resolver.resolve(fakeRequest(header('acme')));
    assert.ok(resolution.ok);
    assert.deepEqual(resolution.tenant, TENANTS[0]);
    assert.equal(resolution.key, 'acme');
    assert.equal(resolution.source, 'header');
    assert.deepEqual(resolution.state, { enabled: true, values: { tenant: 1 } });
    assert.ok(Object.isFrozen(resolution.state) && Object.isFrozen(resolution.state.values));
    const again = await resolver.resolve(fakeRequest(header('acme')));
    assert.ok(again.ok);
    assert.notEqual(again.state, resolution.state, 'each request gets a state object of its own');
  });

  it('refuses a missing key, an invalid key and an unknown tenant with their codes', async () => {
    const { calls, lookup } = countingLookup();
    const resolver = tenantResolver({ from: fromHeader('x-tenant'), lookup });
    assert.equal(refusal(await resolver.resolve(fakeRequest({}))).code, 'TENANT_KEY_MISSING');
    assert.equal(refusal(await resolver.resolve(fakeRequest(header('acme; --')))).code, 'TENANT_KEY_INVALID');
    const unknown = refusal(await resolver.resolve(fakeRequest(header('nobody'))));
    assert.equal(unknown.code, 'TENANT_NOT_FOUND');
    assert.doesNotMatch(unknown.message, /nobody/, 'the message never echoes the key');
    assert.deepEqual(calls, ['nobody'], 'no lookup for a missing or invalid key');
  });

  it('validates what a plain function returns with the default key rule', async () => {
    const { calls, lookup } = countingLookup();
    const plain: KeyResolver<FakeRequestInit> = (req) => req.raw.headers?.['x-custom'];
    const resolver = tenantResolver({ from: plain, lookup });
    const found = await resolver.resolve(fakeRequest({ headers: { 'x-custom': 'beta' } }));
    assert.ok(found.ok && found.source === 'custom');
    const bad = await resolver.resolve(fakeRequest({ headers: { 'x-custom': 'Beta Corp' } }));
    assert.equal(refusal(bad).code, 'TENANT_KEY_INVALID');
    const object = tenantResolver({ from: async () => ({ slug: 'acme' }) as never, lookup });
    assert.equal(refusal(await object.resolve(fakeRequest())).code, 'TENANT_KEY_INVALID');
    assert.deepEqual(calls, ['beta']);
  });

  it('passes resolver and lookup errors through as rejections', async () => {
    const boom = new Error('db down');
    const failing = tenantResolver({
      from: fromHeader('x-tenant'),
      lookup: async () => {
        throw boom;
      },
    });
    await assert.rejects(failing.resolve(fakeRequest(header('acme'))), (e) => e === boom);
    const throwingFrom = tenantResolver({
      from: () => {
        throw boom;
      },
      lookup: countingLookup().lookup,
    });
    await assert.rejects(throwingFrom.resolve(fakeRequest()), (e) => e === boom);
  });

  it('maps a tenant to several dimensions, and refuses a tenant whose values are not keys', async () => {
    const multi = tenantResolver({
      from: fromHeader('x-tenant'),
      lookup: (key: string) => (key === 'acme' ? { org: 7, region: 'eu' } : undefined),
      scopeValues: (t): ScopeValues => ({ tenant: t.org, region: [t.region], audit: ALL }),
    });
    const resolution = await multi.resolve(fakeRequest(header('acme')));
    assert.ok(resolution.ok);
    assert.deepEqual(resolution.state.values, { tenant: 7, region: ['eu'], audit: ALL });

    const noId = tenantResolver({ from: fromHeader('x-tenant'), lookup: () => ({ id: null }) as never });
    await assert.rejects(noId.resolve(fakeRequest(header('acme'))), (e) => isScopeError(e, 'INVALID_SCOPE_VALUE'));
  });

  it('refuses to build without a key resolver or a lookup', () => {
    assert.throws(
      () => tenantResolver({ lookup: () => undefined } as never),
      (e) => isScopeError(e, 'INVALID_DEFINITION'),
    );
    assert.throws(
      () => tenantResolver({ from: fromHeader('x-tenant') } as never),
      (e) => isScopeError(e, 'INVALID_DEFINITION'),
    );
  });

  describe('cache', () => {
    it('caches found tenants, coalesces concurrent loads and remembers unknown keys', async () => {
      const { calls, lookup } = countingLookup();
      const resolver = tenantResolver({ from: fromHeader('x-tenant'), lookup, cache: true });
      const burst = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve(fakeRequest(header('acme')))));
      assert.ok(burst.every((r) => r.ok));
      await resolver.resolve(fakeRequest(header('acme')));
      await resolver.resolve(fakeRequest(header('nobody')));
      await resolver.resolve(fakeRequest(header('nobody')));
      assert.deepEqual(calls, ['acme', 'nobody']);
    });

    it('answers a cache hit with synchronous resolvers at once, without a promise', async () => {
      const { lookup } = countingLookup();
      const resolver = tenantResolver({
        from: firstOf(fromHeader('x-tenant'), fromHeader('x-other')),
        lookup,
        cache: true,
      });
      const first = resolver.resolve(fakeRequest(header('acme')));
      assert.ok(first instanceof Promise, 'a miss loads');
      await first;
      const hit = resolver.resolve(fakeRequest(header('acme')));
      assert.ok(!(hit instanceof Promise) && hit.ok && hit.tenant.slug === 'acme');
      const refusedAtOnce = resolver.resolve(fakeRequest(header('Not Valid')));
      assert.ok(!(refusedAtOnce instanceof Promise) && !refusedAtOnce.ok);
      const throwing = tenantResolver({
        from: () => {
          throw new Error('sync resolver failure');
        },
        lookup,
      });
      const failed = throwing.resolve(fakeRequest());
      assert.ok(failed instanceof Promise, 'a throwing resolver is a rejection, never a synchronous throw');
      await assert.rejects(failed, /sync resolver failure/);
    });

    it('expires entries after their TTL, unknown ones after the negative TTL', async () => {
      const { calls, lookup } = countingLookup();
      const resolver = tenantResolver({
        from: fromHeader('x-tenant'),
        lookup,
        cache: { ttl: 40, negativeTtl: 0 },
      });
      await resolver.resolve(fakeRequest(header('acme')));
      await resolver.resolve(fakeRequest(header('nobody')));
      await resolver.resolve(fakeRequest(header('nobody')));
      await new Promise((resolve) => setTimeout(resolve, 60));
      await resolver.resolve(fakeRequest(header('acme')));
      assert.deepEqual(calls, ['acme', 'nobody', 'nobody', 'acme']);
    });

    it('answers a cache hit synchronously, without arming a timer', async () => {
      const { calls, lookup } = countingLookup();
      const resolver = tenantResolver({ from: fromHeader('x-tenant'), lookup, cache: true });
      await resolver.resolve(fakeRequest(header('acme')));
      const created: string[] = [];
      const hook = createHook({ init: (_id, type) => void created.push(type) });
      for (let i = 0; i < 3; i++) {
        // past lru-cache's default clock resolution (1 ms), which re-arms a timer on the next read
        await new Promise((resolve) => setTimeout(resolve, 3));
        hook.enable();
        const hit = resolver.resolve(fakeRequest(header('acme')));
        hook.disable();
        assert.ok(!(hit instanceof Promise) && hit.ok && hit.tenant.id === 1);
      }
      assert.deepEqual(created, [], 'a hit creates no async resource: no timer, no promise');
      assert.deepEqual(calls, ['acme']);
    });

    it('evicts a key from every source, tenants by predicate, or everything', async () => {
      const { calls, lookup } = countingLookup();
      const resolver = tenantResolver({
        from: (req) => req.header('x-tenant') ?? fromSubdomain({ baseDomain: 'example.test' })(req),
        lookup,
        cache: { max: 10 },
      });
      await resolver.resolve(fakeRequest(header('acme')));
      await resolver.resolve(fakeRequest({ host: 'acme.example.test' }));
      await resolver.resolve(fakeRequest(header('beta')));
      assert.equal(resolver.evict('acme'), 2);
      assert.equal(
        resolver.evict((t: Tenant) => t.id === 2),
        1,
      );
      await resolver.resolve(fakeRequest(header('acme')));
      await resolver.resolve(fakeRequest(header('beta')));
      resolver.clear();
      await resolver.resolve(fakeRequest(header('beta')));
      assert.deepEqual(calls, ['acme', 'acme', 'beta', 'acme', 'beta', 'beta']);
    });

    it('keeps sources apart and its bounds when more keys pass than it holds', async () => {
      const calls: string[] = [];
      const resolver = tenantResolver({
        from: (req) => req.header('x-tenant') ?? fromSubdomain({ baseDomain: 'example.test' })(req),
        lookup: (key: string, { source }) => {
          calls.push(`${source}:${key}`);
          return { id: source === 'custom' ? 1 : 2, slug: key };
        },
        cache: { max: 3 },
      });
      const resolve = async (init: FakeRequestInit) => {
        const r = await resolver.resolve(fakeRequest(init));
        assert.ok(r.ok);
        return `${r.source}:${r.tenant.slug}:${r.tenant.id}`;
      };
      // The same key from two sources is two entries, each with its own tenant.
      assert.equal(await resolve(header('acme')), 'custom:acme:1');
      assert.equal(await resolve({ host: 'acme.example.test' }), 'subdomain:acme:2');
      assert.equal(await resolve(header('acme')), 'custom:acme:1');
      assert.deepEqual(calls, ['custom:acme', 'subdomain:acme']);
      // Past `max` distinct keys, old ones are looked up again and still resolve to themselves.
      for (const key of ['k1', 'k2', 'k3', 'k4', 'k5', 'k1', 'k5']) {
        assert.equal(await resolve(header(key)), `custom:${key}:1`);
      }
      assert.deepEqual(calls.slice(2), ['custom:k1', 'custom:k2', 'custom:k3', 'custom:k4', 'custom:k5', 'custom:k1']);
    });

    it('does not store a load that was evicted while it ran, nor a failed one', async () => {
      let fail = true;
      const calls: string[] = [];
      const resolver = tenantResolver({
        from: fromHeader('x-tenant'),
        lookup: async (key: string) => {
          calls.push(key);
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (fail) throw new Error('flaky');
          return TENANTS.find((t) => t.slug === key);
        },
        cache: true,
      });
      await assert.rejects(resolver.resolve(fakeRequest(header('acme'))));
      fail = false;
      const pending = resolver.resolve(fakeRequest(header('acme')));
      await new Promise((resolve) => setTimeout(resolve, 1)); // the load is now in flight
      resolver.evict('acme');
      assert.ok((await pending).ok);
      await resolver.resolve(fakeRequest(header('acme')));
      await resolver.resolve(fakeRequest(header('acme')));
      assert.deepEqual(calls, ['acme', 'acme', 'acme']);
    });
  });
});
