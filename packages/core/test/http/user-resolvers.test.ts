import assert from 'node:assert/strict';
import { ALL, isScopeError, SCOPE_ERROR_STATUS, type ScopeError, scope } from '@knex-scopes/core';
import {
  firstOf,
  fromHeader,
  fromUser,
  type KeyOutcome,
  rejectionStatuses,
  runInTenantScope,
  runWithoutTenant,
  type TenantResolution,
  type TenantResolver,
  tenantResolver,
  userTenant,
} from '@knex-scopes/core/http';
import { type FakeRequestInit, fakeRequest } from './fake-request';

interface Org {
  readonly id: number;
  readonly slug: string;
}
interface User {
  readonly name: string;
  readonly orgSlug?: string;
  readonly org?: Org | null;
  readonly admin?: boolean;
}

const ACME: Org = { id: 1, slug: 'acme' };
const alice: User = { name: 'alice', orgSlug: 'acme', org: ACME };
const orphan: User = { name: 'orphan', org: null };
const HINT = 'mount it after the auth middleware';

function refusal<T>(resolution: TenantResolution<T> | Promise<TenantResolution<T>>): Promise<ScopeError> {
  return Promise.resolve(resolution).then((r) => {
    assert.equal(r.ok, false);
    return (r as { error: ScopeError }).error;
  });
}

async function resolved<T>(result: TenantResolution<T> | Promise<TenantResolution<T>>) {
  const r = await result;
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r;
}

const orderError = (e: unknown) => isScopeError(e, 'MIDDLEWARE_ORDER') && (e as Error).message.includes(HINT);

describe('http: the tenant of the signed-in user', () => {
  describe('fromUser(pick)', () => {
    const slug = fromUser((user: User) => user.orgSlug);
    const key = (init: FakeRequestInit) => slug(fakeRequest(init)) as KeyOutcome | undefined;

    it("gives the user's key, validated with the key rule, its source 'user'", () => {
      assert.deepEqual({ ...key({ user: alice }) }, { kind: 'key', key: 'acme', source: 'user' });
      assert.equal(key({ user: { name: 'x', orgSlug: 'Acme Corp' } })?.kind, 'invalid');
      assert.equal(slug.usesUser, true);
    });

    it('gives no key for an anonymous visitor or a user without one; throws when auth has not run', () => {
      assert.equal(key({}), undefined);
      assert.equal(key({ user: orphan }), undefined);
      assert.throws(() => key({ authOrderHint: HINT }), orderError);
      assert.equal(key({ user: alice, authOrderHint: HINT })?.kind, 'key', 'a user: the hint is not asked');
    });

    it('with a lookup: 401 without a user, 403 for a user without a key, a cached lookup otherwise', async () => {
      const looked: string[] = [];
      const resolver = tenantResolver({
        from: slug,
        cache: true,
        lookup: (key) => {
          looked.push(key);
          return key === 'acme' ? ACME : undefined;
        },
      });
      assert.equal(resolver.usesUser, true);
      assert.equal((await refusal(resolver.resolve(fakeRequest({})))).code, 'TENANT_USER_MISSING');
      assert.equal((await refusal(resolver.resolve(fakeRequest({ user: orphan })))).code, 'TENANT_USER_UNASSIGNED');
      await assert.rejects(async () => resolver.resolve(fakeRequest({ authOrderHint: HINT })), orderError);
      const first = await resolved(resolver.resolve(fakeRequest({ user: alice })));
      assert.deepEqual([first.tenant, first.source, first.key], [ACME, 'user', 'acme']);
      await resolved(resolver.resolve(fakeRequest({ user: alice })));
      assert.deepEqual(looked, ['acme']);
    });

    it('under firstOf, an anonymous visitor falls through to the next resolver', async () => {
      const resolver = tenantResolver({ from: firstOf(slug, fromHeader('x-tenant')), lookup: () => ACME });
      assert.equal(resolver.usesUser, true);
      await resolved(resolver.resolve(fakeRequest({ headers: { 'x-tenant': 'acme' } })));
      assert.equal((await refusal(resolver.resolve(fakeRequest({})))).code, 'TENANT_USER_MISSING');
      const plain = tenantResolver({ from: fromHeader('x-tenant'), lookup: () => ACME });
      assert.equal(plain.usesUser, false);
      assert.equal((await refusal(plain.resolve(fakeRequest({ user: alice })))).code, 'TENANT_KEY_MISSING');
    });

    it('needs a function', () => {
      assert.throws(
        () => fromUser(undefined as never),
        (e: unknown) => isScopeError(e, 'INVALID_DEFINITION'),
      );
    });
  });

  describe('userTenant({ tenant })', () => {
    const orgOf = userTenant({ tenant: (user: User) => user.org });

    it('reads the tenant off the user, synchronously, with { tenant: id } and no lookup', () => {
      const r = orgOf.resolve(fakeRequest({ user: alice }));
      assert.ok(!(r instanceof Promise) && r.ok);
      assert.equal(r.tenant, ACME);
      assert.deepEqual([r.source, r.key], ['user', '']);
      assert.deepEqual(r.state, { enabled: true, values: { tenant: 1 } });
      assert.ok(Object.isFrozen(r.state) && Object.isFrozen(r.state.values));
      assert.deepEqual([orgOf.usesUser, orgOf.usesSession, orgOf.evict('acme')], [true, false, 0]);
    });

    it('takes a key as the tenant, ALL only when returned, and other dimensions through scopeValues', async () => {
      const claim = userTenant({ tenant: (user: User) => (user.admin ? ALL : user.orgSlug) });
      assert.deepEqual((await resolved(claim.resolve(fakeRequest({ user: alice })))).state.values, { tenant: 'acme' });
      const admin = await resolved(claim.resolve(fakeRequest({ user: { name: 'root', admin: true } })));
      assert.equal(admin.state.values.tenant, ALL);
      const both = userTenant({
        tenant: (user: User) => user.org,
        scopeValues: (org) => ({ tenant: org.id, region: 'eu' }),
      });
      assert.deepEqual((await resolved(both.resolve(fakeRequest({ user: alice })))).state.values, {
        tenant: 1,
        region: 'eu',
      });
    });

    it('refuses: no user 401, no tenant 403 (never all), auth not run MIDDLEWARE_ORDER', async () => {
      assert.equal((await refusal(orgOf.resolve(fakeRequest({})))).code, 'TENANT_USER_MISSING');
      for (const user of [null, false]) {
        assert.equal((await refusal(orgOf.resolve(fakeRequest({ user })))).code, 'TENANT_USER_MISSING');
      }
      const none = await refusal(orgOf.resolve(fakeRequest({ user: orphan })));
      assert.equal(none.code, 'TENANT_USER_UNASSIGNED');
      assert.equal(none.status, 403);
      await assert.rejects(async () => orgOf.resolve(fakeRequest({ authOrderHint: HINT })), orderError);
    });

    it('rejects (never throws) a tenant without an id, a promise, an accessor that throws', async () => {
      const noId = userTenant({ tenant: () => ({ name: 'x' }) as never });
      await assert.rejects(
        async () => noId.resolve(fakeRequest({ user: alice })),
        (e: unknown) => isScopeError(e, 'INVALID_SCOPE_VALUE'),
      );
      const lookup = userTenant({ tenant: async () => ACME, scopeValues: () => ({ tenant: 1 }) });
      await assert.rejects(
        async () => lookup.resolve(fakeRequest({ user: alice })),
        (e: unknown) => isScopeError(e, 'INVALID_DEFINITION'),
      );
      const throwing = userTenant({
        tenant: (): Org => {
          throw new Error('boom');
        },
      });
      await assert.rejects(async () => throwing.resolve(fakeRequest({ user: alice })), /boom/);
      assert.throws(
        () => userTenant({} as never),
        (e: unknown) => isScopeError(e, 'INVALID_DEFINITION'),
      );
    });
  });

  describe('statuses', () => {
    it('401 / 403 / 403 by default, configurable, and each code has its status', () => {
      const table = rejectionStatuses();
      assert.deepEqual(
        [table.TENANT_USER_MISSING, table.TENANT_USER_UNASSIGNED, table.TENANT_CONFLICT],
        [401, 403, 403],
      );
      const custom = rejectionStatuses({ unauthenticated: 403, unassigned: 404, conflict: 409 });
      assert.deepEqual(
        [custom.TENANT_USER_MISSING, custom.TENANT_USER_UNASSIGNED, custom.TENANT_CONFLICT],
        [403, 404, 409],
      );
      assert.throws(
        () => rejectionStatuses({ conflict: 200 }),
        (e: unknown) => isScopeError(e, 'INVALID_DEFINITION'),
      );
      assert.deepEqual(
        [
          SCOPE_ERROR_STATUS.TENANT_USER_MISSING,
          SCOPE_ERROR_STATUS.TENANT_USER_UNASSIGNED,
          SCOPE_ERROR_STATUS.TENANT_CONFLICT,
        ],
        [401, 403, 403],
      );
    });
  });

  describe('stacked openers', () => {
    // What an adapter does: resolve inside runWithoutTenant, run the rest in the resolution's state.
    const open = <T>(resolver: TenantResolver<T>, init: FakeRequestInit, inner: () => unknown) =>
      runWithoutTenant(
        (r: TenantResolver<T>, i: FakeRequestInit, fn: () => unknown) =>
          Promise.resolve(r.resolve(fakeRequest(i))).then((res) => (res.ok ? runInTenantScope(res.state, fn) : res)),
        resolver,
        init,
        inner,
      );
    const byHeader = tenantResolver({
      from: fromHeader('x-tenant'),
      lookup: (key) => ({ acme: ACME, beta: { id: 2, slug: 'beta' } })[key],
    });
    const byUser = userTenant({ tenant: (user: User) => user.org });

    it('goes on when the inner opener agrees with the outer one; refuses TENANT_CONFLICT otherwise', async () => {
      const agree = await open(byHeader, { headers: { 'x-tenant': 'acme' } }, () =>
        open(byUser, { user: alice }, () => 'served'),
      );
      assert.equal(agree, 'served');
      const clash = (await open(byHeader, { headers: { 'x-tenant': 'beta' } }, () =>
        open(byUser, { user: alice }, () => 'served'),
      )) as TenantResolution<Org>;
      assert.equal(clash.ok, false);
      const error = (clash as { error: ScopeError }).error;
      assert.equal(error.code, 'TENANT_CONFLICT');
      assert.deepEqual(error.dimensions, ['tenant']);
    });

    it('lets the inner one add dimensions, not drop or widen one (ALL, a list)', async () => {
      const outer = userTenant({
        tenant: (user: User) => user.org,
        scopeValues: (o) => ({ tenant: o.id, region: 'eu' }),
      });
      const inner = (values: Record<string, unknown>) =>
        userTenant({ tenant: () => ACME, scopeValues: () => values as never });
      const codeOf = async (values: Record<string, unknown>) => {
        const r = (await open(outer, { user: alice }, () => open(inner(values), { user: alice }, () => 'served'))) as
          | string
          | TenantResolution<Org>;
        return typeof r === 'string' ? r : (r as { error: ScopeError }).error.code;
      };
      assert.equal(await codeOf({ tenant: 1, region: 'eu', user: 'u1' }), 'served');
      assert.equal(await codeOf({ tenant: '1', region: ['eu'] }), 'served', 'equal keys, a list of one');
      assert.equal(await codeOf({ tenant: 1 }), 'TENANT_CONFLICT', 'region dropped');
      assert.equal(await codeOf({ tenant: ALL, region: 'eu' }), 'TENANT_CONFLICT');
      assert.equal(await codeOf({ tenant: [1, 2], region: 'eu' }), 'TENANT_CONFLICT');
    });

    it("ignores a scope no adapter opened (the server's, the app's own)", async () => {
      const served = await scope({ tenant: 2 }, () => open(byUser, { user: alice }, () => 'served'));
      assert.equal(served, 'served');
    });
  });
});
