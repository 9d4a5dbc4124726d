// The Fastify 5 example: one scoped Knex, one plugin, and routes that never name a tenant.
import formbody from '@fastify/formbody';
import { knexScopes } from '@knex-scopes/fastify';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import {
  addComment,
  type Body,
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

type Params = { id: string };

export async function createApp({ db, resolveTenant, jobs }: ExampleContext): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(formbody);
  // Resolves the organization (acme.localhost, or /t/acme/...) and runs the rest of the request in
  // its scope. No tenant: 400; unknown tenant: 404. Routes opt out in their config.
  await app.register(knexScopes, { resolveTenant });
  app.setErrorHandler((error, _request, reply) => {
    const { status, body } = toHttpError(error);
    return reply.code(status).send(body);
  });

  app.get('/health', { config: { knexScopes: { exempt: true } } }, async () => {
    await db.raw('select 1'); // no scoped table: allowed. db('projects') here would throw SCOPE_MISSING.
    return { ok: true };
  });

  const api: FastifyPluginAsync = async (r) => {
    r.get('/api/organization', async () => currentOrganization(db));
    r.get('/api/projects', async () => listProjects(db));
    r.post<{ Body: Body }>('/api/projects', async (req, reply) =>
      reply.code(201).send(await createProject(db, req.body)),
    );
    r.patch<{ Params: Params; Body: Body }>('/api/projects/:id', async (req) =>
      updateProject(db, req.params.id, req.body),
    );
    r.delete<{ Params: Params }>('/api/projects/:id', async (req, reply) => {
      await deleteProject(db, req.params.id);
      return reply.code(204).send();
    });
    r.get<{ Params: Params }>('/api/projects/:id/tasks', async (req) => listTasks(db, req.params.id));
    r.post<{ Body: Body }>('/api/tasks', async (req, reply) => reply.code(201).send(await createTask(db, req.body)));
    r.patch<{ Params: Params; Body: Body }>('/api/tasks/:id', async (req) => updateTask(db, req.params.id, req.body));
    r.delete<{ Params: Params }>('/api/tasks/:id', async (req, reply) => {
      await deleteTask(db, req.params.id);
      return reply.code(204).send();
    });
    r.get<{ Params: Params }>('/api/tasks/:id/comments', async (req) => listComments(db, req.params.id));
    // The form-like endpoint: task_id comes from the client, the write guard checks it.
    r.post<{ Body: Body }>('/api/comments', async (req, reply) => {
      const author = await sessionUser(db, req.headers.authorization);
      return reply.code(201).send(await addComment(db, req.body, author));
    });
    r.post<{ Body: Body }>('/api/login', async (req, reply) => reply.code(201).send(await login(db, req.body)));
    r.get('/api/me', async (req) => requireUser(db, req.headers.authorization));
    r.post<{ Params: Params }>('/api/projects/:id/summary', async (req, reply) =>
      reply.code(202).send(await requestSummary(db, jobs, req.params.id)),
    );
    r.get<{ Params: Params }>('/api/jobs/:id', async (req) => jobs.get(req.params.id));
  };
  await app.register(api);
  await app.register(api, { prefix: '/t/:tenant' }); // the path fallback: /t/acme/api/projects
  return app;
}
