// A ScopeError answers with the status its code means under each framework's DEFAULT error
// handling, in production mode (issue 24): a refusal the request's data caused is a 4xx with its
// message; the app's own bug stays a 500 whose message and SQL are kept back. No app error code.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { defineScopes, SCOPE_ERROR_STATUS } from '@knex-scopes/core';
import { fromHeader, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware as expressScoping } from '@knex-scopes/express';
import { knexScopes } from '@knex-scopes/fastify';
import { scopingMiddleware as koaScoping } from '@knex-scopes/koa';
import express from 'express';
import Fastify from 'fastify';
import type { Knex } from 'knex';
import Koa from 'koa';
import request from 'supertest';
import { forEachDialect } from '../support/databases';
import { closeServer, FRAMEWORKS, type Framework, listenOn } from './support/apps';
import { forwardRejection } from './support/express-async';

const scopes = defineScopes({
  tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
});

/** The routes: each runs one query and lets its error reach the framework untouched. */
function routes(db: Knex): Record<string, () => Promise<unknown>> {
  return {
    // the request names another tenant (the body of a form): the client's mistake
    '/foreign-tenant': () => db('pages').insert({ title: 'x', tenant_id: 2 }),
    '/foreign-parent': () => db('comments').insert({ page_id: 3, body: 'x' }),
    // the app's bugs
    '/raw': () => db.raw('select * from pages where title = ?', ['secret-title']),
    '/unscoped': async () => db('pages').select('*').withScope({}),
  };
}

const resolveTenant = tenantResolver({
  from: fromHeader('x-tenant'),
  lookup: (key) => (key === 'one' ? { id: 1 } : undefined),
});

async function serve(framework: Framework, db: Knex): Promise<{ server: Server; close(): Promise<void> }> {
  const table = routes(db);
  if (framework === 'express') {
    const app = express();
    app.set('env', 'production');
    app.use(expressScoping(resolveTenant));
    // Express 4 forwards a rejection only through next(): still to the DEFAULT handler here
    for (const [path, run] of Object.entries(table)) {
      app.get(
        path,
        forwardRejection(async (_req, res) => {
          res.json(await run());
        }),
      );
    }
    const server = await listenOn(createServer(app));
    return { server, close: () => closeServer(server) };
  }
  if (framework === 'koa') {
    const app = new Koa({ env: 'production' });
    app.silent = true;
    app.use(koaScoping(resolveTenant));
    app.use(async (ctx) => {
      const run = table[ctx.path];
      if (run) ctx.body = await run();
    });
    const server = await listenOn(createServer(app.callback()));
    return { server, close: () => closeServer(server) };
  }
  const app = Fastify({ logger: false });
  await app.register(knexScopes, { resolveTenant });
  for (const [path, run] of Object.entries(table)) app.get(path, async () => run());
  await app.ready();
  const server = await listenOn(app.server);
  return { server, close: () => app.close() };
}

forEachDialect('ScopeError statuses under default error handling', (tdb) => {
  let db: Knex;
  before(async () => {
    const base = tdb.knex();
    await base.schema.createTable('pages', (t) => {
      t.increments('id');
      t.integer('tenant_id').notNullable();
      t.string('title', 50).notNullable();
    });
    await base.schema.createTable('comments', (t) => {
      t.increments('id');
      t.integer('page_id').notNullable();
      t.string('body', 50).notNullable();
    });
    await base('pages').insert([
      { id: 1, tenant_id: 1, title: 'mine' },
      { id: 3, tenant_id: 2, title: 'secret-title' },
    ]);
    db = scopes.wrap(base);
  });

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      let app: Awaited<ReturnType<typeof serve>>;
      before(async () => {
        app = await serve(framework, db);
      });
      after(() => app.close());
      const get = (path: string) => request(app.server).get(path).set('x-tenant', 'one');

      it('answers a write naming another tenant 403, its message shown, no stack', async () => {
        for (const path of ['/foreign-tenant', '/foreign-parent']) {
          const res = await get(path);
          assert.equal(res.status, 403, `${path}: ${res.text}`);
          assert.doesNotMatch(res.text, /\bat \S+ \(|write-guards|node_modules/, `${path}: a stack trace`);
          // Express shows the status text in production; Koa and Fastify the (safe) message
          if (framework !== 'express') assert.match(res.text, /refused/);
        }
      });

      it('keeps an app bug 500, its message and SQL back', async () => {
        for (const path of ['/raw', '/unscoped']) {
          const res = await get(path);
          assert.equal(res.status, 500, `${path}: ${res.text}`);
          assert.doesNotMatch(
            res.text,
            /secret-title|select|pages|scope\(|Raw SQL|\bat \S+ \(/i,
            `${path}: ${res.text}`,
          );
        }
      });
    });
  }

  it('every code has its status; 4xx exposed, 5xx not', () => {
    for (const [code, status] of Object.entries(SCOPE_ERROR_STATUS)) {
      assert.ok(status === 500 || (status >= 400 && status < 500), code);
    }
    assert.equal(SCOPE_ERROR_STATUS.CROSS_SCOPE_WRITE, 403);
    assert.equal(SCOPE_ERROR_STATUS.RAW_SQL_REFUSED, 500);
  });
});
