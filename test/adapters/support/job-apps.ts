// The app of the BullMQ end-to-end test on Express, Koa and Fastify (either major): the tenant from the
// x-tenant header through the adapter, and two routes that queue a report job, one with
// scopedQueue(queue).add() (the job carries the request's scope) and one with a plain
// queue.add() (the mistake: no snapshot).
import { createServer } from 'node:http';
import { scopedQueue } from '@knex-scopes/bullmq';
import type { TenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware as expressScoping } from '@knex-scopes/express';
import { knexScopes } from '@knex-scopes/fastify';
import { scopingMiddleware as koaScoping } from '@knex-scopes/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Queue } from 'bullmq';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { closeServer, type Framework, listenOn, type RunningApp } from './apps';
import { forwardRejection } from './express-async';
import type { Tenant } from './schema';

/** A report job's data: which request queued it (the scope travels in the snapshot, not here). */
export interface ReportData {
  readonly request: string;
}

export type ReportQueue = Queue<ReportData>;

export interface JobAppOptions {
  readonly resolver: TenantResolver<Tenant>;
  readonly queue: ReportQueue;
}

/** What both routes answer: the id of the job they queued, and the tenant the adapter resolved. */
export interface Queued {
  readonly id: string | undefined;
  readonly tenant: string | undefined;
}

/** Attempts a plain-queued job is allowed: the refusal must not use them. */
export const UNSCOPED_ATTEMPTS = 3;

function routes(queue: ReportQueue) {
  const reports = scopedQueue(queue);
  const requestOf = (body: unknown): string => String((body as { request?: unknown } | undefined)?.request);
  return {
    /** In the request's scope: the job is stamped with it. */
    async scoped(body: unknown, tenant: Tenant | undefined): Promise<Queued> {
      const job = await reports.add('report', { request: requestOf(body) });
      return { id: job.id, tenant: tenant?.slug };
    },
    /** The same job with plain queue.add(): no snapshot, whatever scope the request is in. */
    async unscoped(body: unknown, tenant: Tenant | undefined): Promise<Queued> {
      const job = await queue.add('report', { request: requestOf(body) }, { attempts: UNSCOPED_ATTEMPTS });
      return { id: job.id, tenant: tenant?.slug };
    },
  };
}

async function expressApp({ resolver, queue }: JobAppOptions): Promise<RunningApp> {
  const r = routes(queue);
  const app = express();
  app.use(expressScoping(resolver));
  app.use(express.json());
  app.post(
    '/reports',
    forwardRejection(async (req, res) => {
      res.status(202).json(await r.scoped(req.body, req.tenant as Tenant | undefined));
    }),
  );
  app.post(
    '/reports/unscoped',
    forwardRejection(async (req, res) => {
      res.status(202).json(await r.unscoped(req.body, req.tenant as Tenant | undefined));
    }),
  );
  const server = await listenOn(createServer(app));
  return { server, close: () => closeServer(server) };
}

async function koaApp({ resolver, queue }: JobAppOptions): Promise<RunningApp> {
  const r = routes(queue);
  const app = new Koa();
  app.silent = true;
  app.use(koaScoping(resolver));
  app.use(bodyParser());
  const router = new Router();
  router.post('/reports', async (ctx) => {
    ctx.status = 202;
    ctx.body = await r.scoped(ctx.request.body, ctx.state.tenant as Tenant | undefined);
  });
  router.post('/reports/unscoped', async (ctx) => {
    ctx.status = 202;
    ctx.body = await r.unscoped(ctx.request.body, ctx.state.tenant as Tenant | undefined);
  });
  app.use(router.routes());
  const server = await listenOn(createServer(app.callback()));
  return { server, close: () => closeServer(server) };
}

async function fastifyApp({ resolver, queue }: JobAppOptions): Promise<RunningApp> {
  const r = routes(queue);
  const app = Fastify();
  await app.register(knexScopes, { resolveTenant: resolver });
  app.post('/reports', async (req, reply) =>
    reply.code(202).send(await r.scoped(req.body, req.tenant as Tenant | undefined)),
  );
  app.post('/reports/unscoped', async (req, reply) =>
    reply.code(202).send(await r.unscoped(req.body, req.tenant as Tenant | undefined)),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { server: app.server, close: () => app.close() };
}

export function buildJobApp(framework: Framework, options: JobAppOptions): Promise<RunningApp> {
  if (framework === 'express') return expressApp(options);
  if (framework === 'koa') return koaApp(options);
  return fastifyApp(options);
}
