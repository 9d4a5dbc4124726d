// Which framework majors the adapter suites ran on (issue 24): the current ones in `npm test`;
// under scripts/test-frameworks.sh (KNEX_SCOPES_FRAMEWORKS, test/support/framework-release.cjs)
// the previous ones, for CommonJS loads, ES-module loads and child processes alike. Then the
// differences between majors that docs/framework-versions.md records, pinned per major.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { fromSubdomain, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware } from '@knex-scopes/express';
import { knexScopes } from '@knex-scopes/fastify';
import express from 'express';
import Fastify from 'fastify';
import request from 'supertest';
import { closeServer, listenOn } from './support/apps';

const root = resolve(__dirname, '../..');
const releases = new Set((process.env.KNEX_SCOPES_FRAMEWORKS ?? '').split(',').filter(Boolean));

/** Each package whose major follows the framework's, and the major this run must load. */
const expected: Record<string, number> = {
  express: releases.has('express4') ? 4 : 5,
  koa: releases.has('koa2') ? 2 : 3,
  fastify: releases.has('fastify4') ? 4 : 5,
  '@fastify/cookie': releases.has('fastify4') ? 9 : 11,
  '@fastify/session': releases.has('fastify4') ? 10 : 11,
  '@fastify/formbody': releases.has('fastify4') ? 7 : 9,
  '@fastify/jwt': releases.has('fastify4') ? 8 : 10,
};
const names = Object.keys(expected);
const majorOf = (version: string) => Number(version.split('.')[0]);

describe(`framework releases: ${releases.size ? [...releases].join(', ') : 'the current majors'}`, () => {
  it('CommonJS loads get the expected majors', () => {
    for (const name of names) {
      const { version } = require(`${name}/package.json`) as { version: string };
      assert.equal(majorOf(version), expected[name], `${name} ${version}`);
    }
  });

  it('ES-module loads in a child process get the same files', () => {
    // the version in the nearest package.json above each resolved entry point
    const source = `
      import { readFileSync } from 'node:fs';
      const out = {};
      for (const name of ${JSON.stringify(names)}) {
        await import(name);
        for (let dir = new URL('.', import.meta.resolve(name)); !out[name]; dir = new URL('..', dir)) {
          try { out[name] = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')).version; } catch {}
        }
      }
      console.log(JSON.stringify(out));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8' });
    const versions = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, string>;
    for (const name of names)
      assert.equal(majorOf(versions[name] as string), expected[name], `${name} ${versions[name]}`);
  });

  describe('X-Forwarded-Host from a peer that trustProxy does not list', () => {
    // The proxy is 10.0.0.1; the test client (127.0.0.1) reaches the app directly and claims beta.
    const resolveTenant = tenantResolver({
      from: fromSubdomain({ baseDomain: 'example.test' }),
      lookup: (key) => ({ id: key === 'acme' ? 1 : 2, slug: key }),
    });
    const claimBeta = (server: Server) =>
      request(server).get('/').set('Host', 'acme.example.test').set('X-Forwarded-Host', 'beta.example.test');

    it('express (4 and 5): ignored, the tenant is the Host header one', async () => {
      const app = express();
      app.set('trust proxy', '10.0.0.1');
      app.use(scopingMiddleware(resolveTenant));
      app.get('/', (req, res) => {
        res.json(req.tenant);
      });
      const server = await listenOn(createServer(app));
      try {
        assert.equal((await claimBeta(server).expect(200)).body.slug, 'acme');
      } finally {
        await closeServer(server);
      }
    });

    // Fastify 4 takes X-Forwarded-Host from any peer once trustProxy is set at all (it checks
    // the socket address only from 5 on): documented, as Koa's app.proxy is.
    const fastifyTakes = expected.fastify === 4 ? 'beta' : 'acme';
    it(`fastify ${expected.fastify}: ${fastifyTakes === 'acme' ? 'ignored' : 'USED (Fastify 4 does not check the peer)'}`, async () => {
      const app = Fastify({ trustProxy: '10.0.0.1' });
      await app.register(knexScopes, { resolveTenant });
      app.get('/', async (req) => req.tenant);
      await app.ready();
      try {
        assert.equal((await claimBeta(app.server).expect(200)).body.slug, fastifyTakes);
      } finally {
        await app.close();
      }
    });
  });
});
