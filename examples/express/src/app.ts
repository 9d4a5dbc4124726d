// The Express 5 example: one scoped Knex, one middleware, and routes that never name a tenant.
import { scopingMiddleware } from '@knex-scopes/express';
import express, { type ErrorRequestHandler, Router } from 'express';
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

export function createApp({ db, resolveTenant, jobs }: ExampleContext): express.Express {
  const app = express();
  // Resolves the organization (acme.localhost, or /t/acme/...) and runs the rest of the request in
  // its scope. No tenant: 400; unknown tenant: 404; /health runs without one.
  app.use(scopingMiddleware(resolveTenant, { exempt: (req) => req.path === '/health' }));
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));

  app.get('/health', async (_req, res) => {
    await db.raw('select 1'); // no scoped table: allowed. db('projects') here would throw SCOPE_MISSING.
    res.json({ ok: true });
  });

  const api = Router();
  api.get('/api/organization', async (_req, res) => {
    res.json(await currentOrganization(db));
  });
  api.get('/api/projects', async (_req, res) => {
    res.json(await listProjects(db));
  });
  api.post('/api/projects', async (req, res) => {
    res.status(201).json(await createProject(db, req.body));
  });
  api.patch('/api/projects/:id', async (req, res) => {
    res.json(await updateProject(db, req.params.id, req.body));
  });
  api.delete('/api/projects/:id', async (req, res) => {
    await deleteProject(db, req.params.id);
    res.status(204).end();
  });
  api.get('/api/projects/:id/tasks', async (req, res) => {
    res.json(await listTasks(db, req.params.id));
  });
  api.post('/api/tasks', async (req, res) => {
    res.status(201).json(await createTask(db, req.body));
  });
  api.patch('/api/tasks/:id', async (req, res) => {
    res.json(await updateTask(db, req.params.id, req.body));
  });
  api.delete('/api/tasks/:id', async (req, res) => {
    await deleteTask(db, req.params.id);
    res.status(204).end();
  });
  api.get('/api/tasks/:id/comments', async (req, res) => {
    res.json(await listComments(db, req.params.id));
  });
  // The form-like endpoint: task_id comes from the client, the write guard checks it.
  api.post('/api/comments', async (req, res) => {
    const author = await sessionUser(db, req.get('authorization'));
    res.status(201).json(await addComment(db, req.body, author));
  });
  api.post('/api/login', async (req, res) => {
    res.status(201).json(await login(db, req.body));
  });
  api.get('/api/me', async (req, res) => {
    res.json(await requireUser(db, req.get('authorization')));
  });
  api.post('/api/projects/:id/summary', async (req, res) => {
    res.status(202).json(await requestSummary(db, jobs, req.params.id));
  });
  api.get('/api/jobs/:id', async (req, res) => {
    res.json(await jobs.get(req.params.id));
  });

  app.use('/t/:tenant', api); // the path fallback: /t/acme/api/projects
  app.use(api);

  const errors: ErrorRequestHandler = (error, _req, res, _next) => {
    const { status, body } = toHttpError(error);
    res.status(status).json(body);
  };
  app.use(errors);
  return app;
}
