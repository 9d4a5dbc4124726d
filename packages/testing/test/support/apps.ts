// The app of the transaction-per-test proof, on Express 5, Koa 3 and Fastify 5 (and Express 4,
// Koa 2, Fastify 4 under scripts/test-frameworks.sh): the same routes, the same answers, every
// query (the tenant lookup's included, through the resolver the test builds) on the handle it is
// given. Each app listens on loopback; supertest is given its server.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { TenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware as expressScoping } from '@knex-scopes/express';
import { knexScopes } from '@knex-scopes/fastify';
import { scopingMiddleware as koaScoping } from '@knex-scopes/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify from 'fastify';
import type { Knex } from 'knex';
import Koa from 'koa';
import type { Model } from 'objection';

export const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export interface Tenant {
  readonly id: number;
  readonly slug: string;
}

export interface AppOptions {
  /** The app's module-level handle (the switch's `knex`). */
  readonly db: Knex;
  /** An Objection model bound to that handle. */
  readonly Project: typeof Model;
  /** The adapter's resolver; its lookup queries whatever the test chose. */
  readonly resolver: TenantResolver<Tenant>;
}

export interface TestApp {
  readonly server: Server;
  close(): Promise<void>;
}

interface NewProject {
  readonly name?: unknown;
  readonly fail?: unknown;
}

/** What the routes do, whatever the framework. */
function handlers({ db, Project }: AppOptions) {
  return {
    listProjects: (): Promise<string[]> => db('projects').orderBy('id').pluck('name'),
    async listOrmProjects(): Promise<string[]> {
      const rows = (await Project.query().orderBy('id')) as unknown as { name: string }[];
      return rows.map((row) => row.name);
    },
    /** App code with a transaction of its own: a savepoint inside the test's transaction. */
    async addProject(body: NewProject | undefined): Promise<string[]> {
      await db.transaction(async (trx) => {
        await trx('projects').insert({ name: body?.name });
        if (body?.fail) throw new Error('the app rolled back its own transaction');
      });
      return db('projects').orderBy('id').pluck('name');
    },
  };
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function serve(listener: RequestListener): Promise<TestApp> {
  const server = await listen(createServer(listener));
  return {
    server,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Express 4 leaves an async handler's rejection unhandled (Express 5 passes it to next). */
function forwardRejection(handler: (req: Request, res: Response) => Promise<unknown>) {
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch(next);
  };
}

async function expressApp(o: AppOptions): Promise<TestApp> {
  const h = handlers(o);
  const app = express();
  app.use(express.json());
  app.use(expressScoping(o.resolver));
  app.get(
    '/projects',
    forwardRejection(async (_req, res) => {
      res.json(await h.listProjects());
    }),
  );
  app.get(
    '/orm/projects',
    forwardRejection(async (_req, res) => {
      res.json(await h.listOrmProjects());
    }),
  );
  app.post(
    '/projects',
    forwardRejection(async (req, res) => {
      res.status(201).json(await h.addProject(req.body));
    }),
  );
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  return serve(app);
}

async function koaApp(o: AppOptions): Promise<TestApp> {
  const h = handlers(o);
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = { error: (error as Error).message };
    }
  });
  app.use(koaScoping(o.resolver));
  app.use(bodyParser());
  const router = new Router();
  router.get('/projects', async (ctx) => {
    ctx.body = await h.listProjects();
  });
  router.get('/orm/projects', async (ctx) => {
    ctx.body = await h.listOrmProjects();
  });
  router.post('/projects', async (ctx) => {
    const added = await h.addProject(ctx.request.body as NewProject | undefined);
    ctx.status = 201;
    ctx.body = added;
  });
  app.use(router.routes());
  return serve(app.callback());
}

async function fastifyApp(o: AppOptions): Promise<TestApp> {
  const h = handlers(o);
  const app = Fastify();
  await app.register(knexScopes, { resolveTenant: o.resolver });
  app.get('/projects', async () => h.listProjects());
  app.get('/orm/projects', async () => h.listOrmProjects());
  app.post('/projects', async (req, reply) => reply.code(201).send(await h.addProject(req.body as NewProject)));
  app.setErrorHandler((error: Error, _req, reply) => {
    reply.code(500).send({ error: error.message });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { server: app.server, close: () => app.close() };
}

export function buildApp(framework: Framework, options: AppOptions): Promise<TestApp> {
  if (framework === 'express') return expressApp(options);
  if (framework === 'koa') return koaApp(options);
  return fastifyApp(options);
}
