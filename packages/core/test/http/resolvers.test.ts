import assert from 'node:assert/strict';
import { isScopeError } from '@knex-scopes/core';
import {
  firstOf,
  fromFunction,
  fromHeader,
  fromHost,
  fromPath,
  fromSession,
  fromSubdomain,
  type KeyOutcome,
  type KeyResolver,
} from '@knex-scopes/core/http';
import { type FakeRequestInit, fakeRequest } from './fake-request';

async function run(resolver: KeyResolver<FakeRequestInit>, init: FakeRequestInit): Promise<string | undefined> {
  const outcome = (await resolver(fakeRequest(init))) as KeyOutcome | undefined;
  if (outcome === undefined) return undefined;
  return outcome.kind === 'key' ? `${outcome.source}:${outcome.key}` : 'invalid';
}

const definitionError = (e: unknown) => isScopeError(e, 'INVALID_DEFINITION');

describe('http: resolvers', () => {
  describe('fromSubdomain({ baseDomain })', () => {
    const sub = fromSubdomain({ baseDomain: 'example.test' });

    it('takes the one label left of the base domain, whatever the case, port or trailing dot', async () => {
      for (const host of ['acme.example.test', 'ACME.Example.TEST', 'acme.example.test:8080', 'acme.example.test.']) {
        assert.equal(await run(sub, { host }), 'subdomain:acme', host);
      }
    });

    it('gives no key for the apex, reserved labels, foreign domains and IP literals', async () => {
      for (const host of [
        'example.test',
        'www.example.test',
        'acme.evil.test',
        'acme.example.test.evil.test',
        'acmeexample.test',
        '127.0.0.1',
        '[::1]:80',
        '',
      ]) {
        assert.equal(await run(sub, { host }), undefined, host);
      }
    });

    it('refuses nested labels, malformed hosts and keys the pattern refuses', async () => {
      for (const host of ['a.b.example.test', 'user@acme.example.test', 'ac_me.example.test', 'aé.example.test']) {
        assert.equal(await run(sub, { host }), 'invalid', host);
      }
    });

    it('picks the most specific of several base domains, Unicode ones included', async () => {
      const multi = fromSubdomain({ baseDomain: ['test', 'example.test', 'bücher.test'], reserved: ['www', 'api'] });
      assert.equal(await run(multi, { host: 'acme.example.test' }), 'subdomain:acme');
      assert.equal(await run(multi, { host: 'acme.xn--bcher-kva.test' }), 'subdomain:acme');
      assert.equal(await run(multi, { host: 'api.example.test' }), undefined);
    });

    it('resolves a punycode tenant label as that label', async () => {
      assert.equal(await run(sub, { host: 'xn--caf-dma.example.test' }), 'subdomain:xn--caf-dma');
    });

    it('refuses a host taken from an X-Forwarded-Host list, accepts a single forwarded host', async () => {
      const forwarded = { 'x-forwarded-host': 'evil.example.test, acme.example.test' };
      assert.equal(
        await run(sub, { host: 'acme.example.test', headers: { host: 'proxy.internal', ...forwarded } }),
        'invalid',
      );
      // The framework ignored the list (untrusted peer): the Host header is used as is.
      assert.equal(await run(sub, { host: 'acme.example.test', headers: forwarded }), 'subdomain:acme');
      // A malformed Host header is refused even when the framework getter tidied it up.
      assert.equal(
        await run(sub, { host: 'acme.example.test', headers: { host: 'acme.example.test, x.test' } }),
        'invalid',
      );
      const single = { host: 'proxy.internal', 'x-forwarded-host': 'acme.example.test' };
      assert.equal(await run(sub, { host: 'acme.example.test', headers: single }), 'subdomain:acme');
    });
  });

  describe('fromSubdomain({ offset })', () => {
    it('takes the first label when exactly one label precedes the offset', async () => {
      const local = fromSubdomain({ offset: 1 });
      assert.equal(await run(local, { host: 'acme.localhost:3000' }), 'subdomain:acme');
      assert.equal(await run(local, { host: 'localhost' }), undefined);
      assert.equal(await run(local, { host: 'a.b.localhost' }), 'invalid');
      const three = fromSubdomain({ offset: 3 });
      assert.equal(await run(three, { host: 'acme.example.co.uk' }), 'subdomain:acme');
    });

    it('takes either a base domain or an offset, not both or neither', () => {
      assert.throws(() => fromSubdomain({}), definitionError);
      assert.throws(() => fromSubdomain({ baseDomain: 'example.test', offset: 2 }), definitionError);
      assert.throws(() => fromSubdomain({ offset: 0 }), definitionError);
      assert.throws(() => fromSubdomain({ baseDomain: '127.0.0.1' }), definitionError);
    });
  });

  describe('fromHost', () => {
    it('takes the whole normalised host name; IP literals give no key', async () => {
      const host = fromHost();
      assert.equal(await run(host, { host: 'Shop.Acme.COM.:443' }), 'host:shop.acme.com');
      assert.equal(await run(host, { host: '10.0.0.1:80' }), undefined);
      assert.equal(await run(host, { host: 'shop.acme.com, evil.com' }), 'invalid');
    });
  });

  describe('fromPath', () => {
    it('reads a decoded route param and refuses slashes, dots and upper case in it', async () => {
      const path = fromPath({ param: 'tenant' });
      assert.equal(await run(path, { params: { tenant: 'acme' } }), 'path:acme');
      assert.equal(await run(path, { params: {} }), undefined);
      for (const tenant of ['acme/x', '..', 'ACME', "acme' OR 1=1 --", 'a'.repeat(64), '']) {
        assert.equal(await run(path, { params: { tenant } }), 'invalid', tenant);
      }
    });

    it('reads a segment as sent, so percent-escapes are refused, not decoded', async () => {
      const path = fromPath({ segment: 1 });
      assert.equal(await run(path, { path: '/t/acme/pages' }), 'path:acme');
      assert.equal(await run(path, { path: '/t' }), undefined);
      assert.equal(await run(path, { path: '/t//pages' }), undefined);
      for (const p of ['/t/acme%2Fevil/pages', '/t/%2e%2e/pages', '/t/%61cme', '/t/..']) {
        assert.equal(await run(path, { path: p }), 'invalid', p);
      }
    });

    it('folds upper case when asked to', async () => {
      assert.equal(
        await run(fromPath({ param: 'tenant', lowercase: true }), { params: { tenant: 'AcMe' } }),
        'path:acme',
      );
    });

    it('takes a param or a segment, not both or neither', () => {
      assert.throws(() => fromPath({} as never), definitionError);
      assert.throws(() => fromPath({ param: 'a', segment: 0 } as never), definitionError);
      assert.throws(() => fromPath({ segment: -1 }), definitionError);
    });
  });

  describe('fromHeader', () => {
    const header = fromHeader('X-Tenant');

    it('reads the header by any case of its name', async () => {
      assert.equal(await run(header, { headers: { 'x-tenant': 'acme' } }), 'header:acme');
      assert.equal(await run(header, {}), undefined);
    });

    it('refuses empty, repeated, overlong, non-ASCII and SQL-laden values', async () => {
      for (const value of ['', 'acme, evil', 'a'.repeat(64), 'acmé', "acme'; DROP TABLE pages; --", 'acme%00']) {
        assert.equal(await run(header, { headers: { 'x-tenant': value } }), 'invalid', value);
      }
    });

    it('takes a custom rule', async () => {
      const uuid = fromHeader('x-tenant-id', { pattern: /[0-9a-f-]{36}/, maxLength: 36 });
      const id = '3f1c6a0e-8a53-4c3e-9b7e-2a1e0f6b9d11';
      assert.equal(await run(uuid, { headers: { 'x-tenant-id': id } }), `header:${id}`);
      // The pattern must match the whole key, anchored or not.
      assert.equal(await run(uuid, { headers: { 'x-tenant-id': `${id}x` } }), 'invalid');
    });

    it('matches the whole key against the whole pattern, alternatives and flags included', async () => {
      // Anchoring the pattern, not checking where its first match ends: `a|ab` takes "ab".
      const either = fromHeader('x-tenant', { pattern: /a|ab/ });
      assert.equal(await run(either, { headers: { 'x-tenant': 'ab' } }), 'header:ab');
      assert.equal(await run(either, { headers: { 'x-tenant': 'abc' } }), 'invalid');
      // A stateful flag does not make every other request fail.
      const sticky = fromHeader('x-tenant', { pattern: /[a-z]+/gy });
      for (let i = 0; i < 3; i++) assert.equal(await run(sticky, { headers: { 'x-tenant': 'acme' } }), 'header:acme');
      // `i` is kept: case-insensitive patterns take upper case keys.
      const caseless = fromHeader('x-tenant', { pattern: /acme-[a-z]+/i });
      assert.equal(await run(caseless, { headers: { 'x-tenant': 'ACME-One' } }), 'header:ACME-One');
    });

    it('refuses a bad header name at definition', () => {
      assert.throws(() => fromHeader('x tenant'), definitionError);
    });
  });

  describe('fromSession', () => {
    const session = fromSession('tenantSlug');

    it('reads the field; numbers become their decimal string; absent is no key', async () => {
      assert.equal(await run(session, { session: { tenantSlug: 'acme' } }), 'session:acme');
      assert.equal(await run(fromSession('tenantId'), { session: { tenantId: 42 } }), 'session:42');
      assert.equal(await run(session, { session: {} }), undefined);
      assert.equal(await run(session, { session: { tenantSlug: null } }), undefined);
    });

    it('refuses values of the wrong type', async () => {
      for (const value of [{ id: 'acme' }, ['acme'], true, 1.5, -1, Number.NaN]) {
        assert.equal(await run(session, { session: { tenantSlug: value } }), 'invalid', String(value));
      }
    });

    it('passes the missing-session error through and says it reads the session', async () => {
      assert.equal(session.usesSession, true);
      await assert.rejects(
        async () => run(session, {}),
        (e: unknown) => isScopeError(e, 'MIDDLEWARE_ORDER'),
      );
    });
  });

  describe('fromFunction and firstOf', () => {
    it('fromFunction gives a custom function its own rule and source', async () => {
      const upper = fromFunction(() => 'ACME_1', { pattern: /^[A-Z0-9_]+$/, source: 'jwt' });
      assert.equal(await run(upper, {}), 'jwt:ACME_1');
    });

    it('firstOf takes the first source that has a key; an invalid key stops the chain', async () => {
      const chain = firstOf(fromHeader('x-tenant'), fromSubdomain({ baseDomain: 'example.test' }), fromSession('t'));
      assert.equal(chain.usesSession, true);
      assert.equal(await run(chain, { host: 'acme.example.test', headers: { 'x-tenant': 'beta' } }), 'header:beta');
      assert.equal(await run(chain, { host: 'acme.example.test' }), 'subdomain:acme');
      assert.equal(await run(chain, { host: 'example.test', session: { t: 'gamma' } }), 'session:gamma');
      assert.equal(await run(chain, { host: 'acme.example.test', headers: { 'x-tenant': 'bad key' } }), 'invalid');
      assert.equal(await run(chain, { host: 'example.test', session: {} }), undefined);
      assert.throws(() => firstOf(), definitionError);
    });
  });
});
