import assert from 'node:assert/strict';
import { isScopeError } from '@knex-scopes/core';
import { normalizeDomain, parseHost } from '@knex-scopes/core/http';

const name = (host: string) => {
  const parsed = parseHost(host);
  return parsed.kind === 'name' ? parsed.name : parsed.kind;
};

describe('http: parseHost', () => {
  it('lower-cases, drops the port and one trailing dot', () => {
    assert.equal(name('ACME.Example.TEST'), 'acme.example.test');
    assert.equal(name('acme.example.test:8080'), 'acme.example.test');
    assert.equal(name('acme.example.test.'), 'acme.example.test');
    assert.equal(name('acme.example.test.:443'), 'acme.example.test');
  });

  it('reports IP literals (v4, v6 with and without port, numeric last label) as ip', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:3000', '[::1]', '[::1]:3000', '[2001:db8::1]:80', '0x7f.1', '10.1']) {
      assert.equal(name(host), 'ip', host);
    }
  });

  it('reports a missing host as absent', () => {
    assert.equal(name(''), 'absent');
    assert.equal(parseHost(undefined).kind, 'absent');
  });

  it('refuses userinfo, lists, spaces, slashes, bad ports, empty labels and non-ASCII', () => {
    const hostile = [
      'user@acme.example.test',
      'acme.example.test, evil.example.test',
      'acme .example.test',
      'acme.example.test/../evil',
      'acme.example.test:99999a',
      'acme.example.test:',
      'acme..example.test',
      '.acme.example.test',
      'acme.example.test..',
      '-acme.example.test',
      'ac_me.example.test',
      'aéb.example.test',
      '\u212Acme.example.test', // KELVIN SIGN lower-cases to an ASCII "k"
      '[::1',
      '[::1]x',
      '[not-v6]:80',
      '::1',
      `${'a'.repeat(64)}.example.test`,
      `${'a.'.repeat(130)}test`,
    ];
    for (const host of hostile) assert.equal(name(host), 'invalid', host);
  });

  it('accepts well-formed punycode labels and refuses malformed ones', () => {
    assert.equal(name('xn--caf-dma.example.test'), 'xn--caf-dma.example.test');
    assert.equal(name('XN--CAF-DMA.example.test'), 'xn--caf-dma.example.test');
    assert.equal(name('xn--a.example.test'), 'invalid');
  });
});

describe('http: normalizeDomain', () => {
  it('normalises configured base domains, Unicode ones as punycode', () => {
    assert.equal(normalizeDomain('Example.TEST.'), 'example.test');
    assert.equal(normalizeDomain('café.example'), 'xn--caf-dma.example');
  });

  it('refuses what is not a domain', () => {
    for (const bad of ['', '127.0.0.1', 'a b', 'x@y.test']) {
      assert.throws(
        () => normalizeDomain(bad),
        (e: unknown) => isScopeError(e, 'INVALID_DEFINITION'),
        bad,
      );
    }
  });
});
