// The Koa 3 example: one scoped Knex, one middleware, and routes that never name a tenant.
import { scopingMiddleware } from '@knex-scopes/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import {
  addComment,
  createProject,
  createTask,
  currentOrganization,
  deleteProject,
  deleteTask,
  type ExampleContext,
  listComments,
  listProjects,
  listTasks,
  login,
  requestSummary,
  requireUser,
  sessionUser,
  toHttpError,
  updateProject,
  updateTask,
} from 'knex-scopes-example-shared';
import Koa from 'koa';

export function createApp({ db, resolveTenant, jobs }: ExampleContext): Koa {
  const app = new Koa();
  // Mounted first, so it sees the errors of everything after it (it runs outside the scope).
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const { status, body } = toHttpError(error);
      ctx.status = status;
      ctx.body = body;
    }
  });
  // Resolves the organization (acme.localhost, or /t/acme/...) and runs the rest of the request in
  // its scope. No tenant: 400; unknown tenant: 404; /health runs without one.
  app.use(scopingMiddleware(resolveTenant, { exempt: (ctx) => ctx.path === '/health' }));
  app.use(bodyParser({ enableTypes: ['json', 'form'] }));

  const api = new Router();
  api.get('/health', async (ctx) => {
    await db.raw('select 1'); // no scoped table: allowed. db('projects') here would throw SCOPE_MISSING.
    ctx.body = { ok: true };
  });
  api.get('/api/organization', async (ctx) => {
    ctx.body = await currentOrganization(db);
  });
  api.get('/api/projects', async (ctx) => {
    ctx.body = await listProjects(db);
  });
  api.post('/api/projects', async (ctx) => {
    ctx.status = 201;
    ctx.body = await createProject(db, ctx.request.body);
  });
  api.patch('/api/projects/:id', async (ctx) => {
    ctx.body = await updateProject(db, ctx.params.id, ctx.request.body);
  });
  api.delete('/api/projects/:id', async (ctx) => {
    await deleteProject(db, ctx.params.id);
    ctx.status = 204;
  });
  api.get('/api/projects/:id/tasks', async (ctx) => {
    ctx.body = await listTasks(db, ctx.params.id);
  });
  api.post('/api/tasks', async (ctx) => {
    ctx.status = 201;
    ctx.body = await createTask(db, ctx.request.body);
  });
  api.patch('/api/tasks/:id', async (ctx) => {
    ctx.body = await updateTask(db, ctx.params.id, ctx.request.body);
  });
  api.delete('/api/tasks/:id', async (ctx) => {
    await deleteTask(db, ctx.params.id);
    ctx.status = 204;
  });
  api.get('/api/tasks/:id/comments', async (ctx) => {
    ctx.body = await listComments(db, ctx.params.id);
  });
  // The form-like endpoint: task_id comes from the client, the write guard checks it.
  api.post('/api/comments', async (ctx) => {
    const author = await sessionUser(db, ctx.get('authorization') || undefined);
    ctx.status = 201;
    ctx.body = await addComment(db, ctx.request.body, author);
  });
  api.post('/api/login', async (ctx) => {
    ctx.status = 201;
    ctx.body = await login(db, ctx.request.body);
  });
  api.get('/api/me', async (ctx) => {
    ctx.body = await requireUser(db, ctx.get('authorization') || undefined);
  });
  api.post('/api/projects/:id/summary', async (ctx) => {
    ctx.status = 202;
    ctx.body = await requestSummary(db, jobs, ctx.params.id);
  });
  api.get('/api/jobs/:id', async (ctx) => {
    ctx.body = await jobs.get(ctx.params.id);
  });

  const prefixed = new Router({ prefix: '/t/:tenant' }); // the path fallback: /t/acme/api/projects
  prefixed.use(api.routes());
  app.use(api.routes()).use(prefixed.routes()).use(api.allowedMethods());
  return app;
}
