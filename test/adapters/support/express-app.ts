// The test app on Express (5, and 4 under scripts/test-frameworks.sh): body parsers and session
// around the adapter as options say.
import { createServer } from 'node:http';
import { scope } from '@knex-scopes/core';
import { scopingMiddleware } from '@knex-scopes/express';
import express, { type ErrorRequestHandler, type Request } from 'express';
import session from 'express-session';
import multer from 'multer';
import { type AppOptions, closeServer, listenOn, type RunningApp, SESSION_SECRET } from './apps';
import { forwardRejection } from './express-async';
import {
  bodySize,
  createPage,
  errorBody,
  isExemptPath,
  pagesOf,
  type ScopeJson,
  SESSION_FIELD,
  scopedStream,
  scopeNow,
  slug,
  statusOf,
  tryScopedQuery,
} from './handlers';

type Staged = Request & { stages?: Record<string, ScopeJson>; session?: Record<string, unknown> };

export async function expressApp(o: AppOptions): Promise<RunningApp> {
  const app = express();
  if (o.trustProxy) app.set('trust proxy', true);
  app.use((_req, res, next) => {
    res.setHeader('x-pre-scope', JSON.stringify(scopeNow()));
    next();
  });
  const sessions = session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false });
  if (o.session === 'before') app.use(sessions);
  const adapter = scopingMiddleware(o.resolver, {
    exempt: (req) => isExemptPath(req.path) || req.path === '/signup',
    statuses: o.statuses,
    onRejected: o.customRejection
      ? (r, _req, res) => {
          res
            .status(r.status === 404 ? 410 : r.status)
            .type('text/plain')
            .send(`custom ${r.error.code}`);
        }
      : undefined,
  });
  const root = o.paramRoutes ? express.Router({ mergeParams: true }) : app;
  if (o.paramRoutes) app.use('/p/:tenant', adapter, root);
  else app.use(adapter);
  if (o.session === 'after') app.use(sessions);
  // Parsers after the adapter: the case where their completion callbacks must keep the scope.
  root.use(
    express.json({ limit: '2mb' }),
    express.urlencoded({ extended: false, limit: '2mb' }),
    express.text({ limit: '2mb' }),
  );
  root.use((req, res, next) => {
    (req as Staged).stages = { afterParser: scopeNow() };
    const id = req.get('x-request-id');
    if (id && o.lifecycle) res.on('finish', () => o.lifecycle?.set(id, scopeNow()));
    next();
  });

  const whoami = (req: Request) => ({ tenant: slug(req.tenant), scope: scopeNow(), stages: (req as Staged).stages });
  root.get(['/whoami', '/t/:slug/whoami'], (req, res) => {
    res.json(whoami(req));
  });
  root.get(
    ['/pages', '/t/:slug/pages'],
    forwardRejection(async (req, res) => {
      res.json({ ...whoami(req), ...(await pagesOf(o.db)) });
    }),
  );
  root.post(
    '/pages',
    forwardRejection(async (req, res) => {
      res.json({ ...whoami(req), page: await createPage(o.db, req.body?.title), bytes: bodySize(req.body) });
    }),
  );
  root.post('/echo', (req, res) => {
    res.json({ ...whoami(req), bytes: bodySize(req.body) });
  });
  root.post('/upload', multer({ storage: multer.memoryStorage() }).single('file'), (req, res) => {
    res.json({ ...whoami(req), bytes: req.file?.size ?? 0 });
  });
  root.get('/stream', (_req, res) => {
    res.type('text/plain');
    scopedStream().pipe(res);
  });
  root.get('/fail/sync', () => {
    throw new Error('sync failure');
  });
  root.get(
    '/fail/async',
    forwardRejection(async () => {
      await Promise.resolve();
      throw new Error('async failure');
    }),
  );
  root.get(
    ['/public/health', '/signup'],
    forwardRejection(async (req, res) => {
      res.json({ ...whoami(req), query: await tryScopedQuery(o.db) });
    }),
  );
  root.post('/public/login', (req, res) => {
    (req as Staged).session![SESSION_FIELD] = req.body?.value;
    res.json({ ok: true });
  });
  root.use((req, res) => {
    res.status(404).json({ notFound: true, scope: scopeNow(), tenant: slug(req.tenant) });
  });
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    res.status(statusOf(error)).json(errorBody(error, req.tenant, 'error middleware'));
  };
  app.use(onError);

  const server = createServer(app);
  if (o.listenInScope) await scope(o.listenInScope, () => listenOn(server));
  else await listenOn(server);
  return { server, close: () => closeServer(server) };
}
