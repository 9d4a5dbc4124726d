// What the examples' README promises, asserted over HTTP against each example app, on every test
// database: two organizations kept apart, requests without a tenant refused, foreign keys from the
// client checked, jobs run later in the scope they were queued in.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { scopesDisabled } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { createContext, type ExampleContext, prepareDatabase } from 'knex-scopes-example-shared';
import request from 'supertest';
import { forEachDialect } from '../support/databases';

/** What supertest drives: a request listener or a server. */
export type Target = Server | ((...args: never[]) => unknown);

/** Builds the framework's app; `close` releases what it holds (not the database). */
export type StartApp = (ctx: ExampleContext) => Promise<{ target: Target; close(): Promise<void> }>;

const ACME = 'acme.localhost:3000';
const GLOBEX = 'globex.localhost:3000';

interface Ids {
  acmeProject: number;
  globexProject: number;
  acmeTask: number;
  globexTask: number;
}

export function exampleSuite(framework: string, startApp: StartApp): void {
  forEachDialect(`examples/${framework}: two organizations over HTTP`, (tdb) => {
    let ctx: ExampleContext;
    let app: Awaited<ReturnType<StartApp>>;
    let ids: Ids;
    const sql: string[] = [];

    before(async () => {
      await prepareDatabase(tdb.knex());
      ctx = createContext(tdb.knex());
      app = await startApp(ctx);
      ctx.db.on('query', (query: { sql: string }) => sql.push(query.sql));
      const first = async (table: string, slug: string, join: (q: Knex.QueryBuilder) => Knex.QueryBuilder) =>
        Number(
          (await join(tdb.knex()(table)).where('organizations.slug', slug).orderBy(`${table}.id`).first(`${table}.id`))
            .id,
        );
      const project = (q: Knex.QueryBuilder) => q.join('organizations', 'organizations.id', 'projects.organization_id');
      const task = (q: Knex.QueryBuilder) => project(q.join('projects', 'projects.id', 'tasks.project_id'));
      ids = {
        acmeProject: await first('projects', 'acme', project),
        globexProject: await first('projects', 'globex', project),
        acmeTask: await first('tasks', 'acme', task),
        globexTask: await first('tasks', 'globex', task),
      };
    });
    after(() => app.close());
    beforeEach(() => {
      sql.length = 0;
    });

    const http = () => request(app.target as never);
    const get = (host: string, path: string) => http().get(path).set('Host', host);
    const post = (host: string, path: string) => http().post(path).set('Host', host);
    const names = (rows: Array<{ name: string }>) => rows.map((r) => r.name);
    /** Every row of a table, read unscoped, to prove a refused write changed nothing. */
    const rowsOf = (table: string) => tdb.knex()(table).orderBy('id');

    it('shows each organization its own projects, from the subdomain or the /t/<slug> path', async () => {
      const acme = await get(ACME, '/api/projects').expect(200);
      const globex = await get(GLOBEX, '/api/projects').expect(200);
      assert.deepEqual(names(acme.body), ['Website relaunch', 'Onboarding']);
      assert.deepEqual(names(globex.body), ['Secret roadmap']);
      assert.deepEqual(
        acme.body.map((p: { task_count: number }) => p.task_count),
        [2, 1],
      );
      const byPath = await get('localhost:3000', '/t/globex/api/projects').expect(200);
      assert.deepEqual(byPath.body, globex.body);
      const organization = await get(ACME, '/api/organization').expect(200);
      assert.equal(organization.body.slug, 'acme');
    });

    it('filters every statement it sends: each one names the tenant column', async () => {
      await get(ACME, '/api/projects').expect(200);
      await get(ACME, `/api/tasks/${ids.acmeTask}/comments`).expect(200);
      assert.ok(sql.length >= 3, sql.join('\n'));
      for (const statement of sql) assert.match(statement, /organization_id/, statement);
    });

    it('refuses a request without a tenant (400), an invalid key (400) and an unknown one (404), before any scoped query', async () => {
      const missing = await get('localhost:3000', '/api/projects').expect(400);
      assert.equal(missing.body.error, 'TENANT_KEY_MISSING');
      const invalid = await get('localhost:3000', '/t/Not_A_Slug/api/projects').expect(400);
      assert.equal(invalid.body.error, 'TENANT_KEY_INVALID');
      const unknown = await get('nobody.localhost:3000', '/api/projects').expect(404);
      assert.equal(unknown.body.error, 'TENANT_NOT_FOUND');
      assert.deepEqual(sql, []);
    });

    it('answers the exempt health check without a tenant', async () => {
      assert.deepEqual((await get('localhost:3000', '/health').expect(200)).body, { ok: true });
    });

    it('creates, renames and deletes in the own organization; another organization cannot see or touch it', async () => {
      const created = await post(ACME, '/api/projects').send({ name: 'Launch party' }).expect(201);
      const id = created.body.id;
      const row = await tdb.knex()('projects').where({ id }).first();
      assert.equal(Number(row.organization_id), Number((await get(ACME, '/api/organization')).body.id));
      assert.ok(!names((await get(GLOBEX, '/api/projects')).body).includes('Launch party'));
      await http().patch(`/api/projects/${id}`).set('Host', GLOBEX).send({ name: 'Hijacked' }).expect(404);
      await http().delete(`/api/projects/${id}`).set('Host', GLOBEX).expect(404);
      assert.equal((await tdb.knex()('projects').where({ id }).first()).name, 'Launch party');
      const renamed = await http().patch(`/api/projects/${id}`).set('Host', ACME).send({ name: 'Party' }).expect(200);
      assert.equal(renamed.body.name, 'Party');
      await http().delete(`/api/projects/${id}`).set('Host', ACME).expect(204);
      assert.equal(await tdb.knex()('projects').where({ id }).first(), undefined);
    });

    it("refuses a task created in, or moved to, another organization's project (422), writing nothing", async () => {
      const before = await rowsOf('tasks');
      const refused = await post(ACME, '/api/tasks').send({ project_id: ids.globexProject, title: 'x' }).expect(422);
      assert.equal(refused.body.error, 'CROSS_SCOPE_WRITE');
      await http()
        .patch(`/api/tasks/${ids.acmeTask}`)
        .set('Host', ACME)
        .send({ project_id: ids.globexProject })
        .expect(422);
      assert.deepEqual(await rowsOf('tasks'), before);
      await get(ACME, `/api/projects/${ids.globexProject}/tasks`).expect(404);
      const task = await post(ACME, '/api/tasks')
        .send({ project_id: ids.acmeProject, title: 'Book a venue' })
        .expect(201);
      const done = await http().patch(`/api/tasks/${task.body.id}`).set('Host', ACME).send({ done: true }).expect(200);
      assert.equal(done.body.done, true);
      await http().delete(`/api/tasks/${task.body.id}`).set('Host', GLOBEX).expect(404);
      await http().delete(`/api/tasks/${task.body.id}`).set('Host', ACME).expect(204);
    });

    it("checks the task id a form posts: another organization's task is refused (422), the own one accepted", async () => {
      const before = await rowsOf('comments');
      const refused = await post(ACME, '/api/comments').type('form').send({ task_id: ids.globexTask, body: 'hi' });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.error, 'CROSS_SCOPE_WRITE');
      assert.deepEqual(await rowsOf('comments'), before);
      const created = await post(ACME, '/api/comments').type('form').send({ task_id: ids.acmeTask, body: 'hi' });
      assert.equal(created.status, 201);
      const comments = await get(ACME, `/api/tasks/${ids.acmeTask}/comments`).expect(200);
      assert.ok(comments.body.some((c: { id: number }) => c.id === created.body.id));
      await get(GLOBEX, `/api/tasks/${ids.acmeTask}/comments`).expect(404);
    });

    it("keeps sessions in their organization: a token is worthless on another organization's host", async () => {
      await post(ACME, '/api/login').send({ email: 'bob@globex.test' }).expect(401);
      const { token } = (await post(ACME, '/api/login').send({ email: 'alice@acme.test' }).expect(201)).body;
      const me = await get(ACME, '/api/me').set('Authorization', `Bearer ${token}`).expect(200);
      assert.equal(me.body.name, 'Alice');
      await get(GLOBEX, '/api/me').set('Authorization', `Bearer ${token}`).expect(401);
      const signed = await post(ACME, '/api/comments')
        .set('Authorization', `Bearer ${token}`)
        .type('form')
        .send({ task_id: ids.acmeTask, body: 'signed' })
        .expect(201);
      assert.equal(signed.body.author, 'Alice');
    });

    it('runs a queued job later, in the scope it was queued in; its result stays in that organization', async () => {
      const queued = await post(ACME, `/api/projects/${ids.acmeProject}/summary`).expect(202);
      await post(GLOBEX, `/api/projects/${ids.acmeProject}/summary`).expect(404);
      assert.equal((await get(ACME, queued.body.url).expect(200)).body.status, 'queued');
      assert.ok((await ctx.jobs.drain()) >= 1); // the worker, outside any request and any scope
      const job = await get(ACME, queued.body.url).expect(200);
      assert.equal(job.body.status, 'done');
      assert.equal(job.body.result.project, 'Website relaunch');
      const tasks = await tdb.knex()('tasks').where({ project_id: ids.acmeProject });
      assert.equal(job.body.result.tasks, tasks.length);
      await get(GLOBEX, queued.body.url).expect(404);
    });

    it('fails a job that was queued without a scope instead of running it unscoped', async () => {
      const organization_id = (await get(ACME, '/api/organization')).body.id;
      await scopesDisabled(() =>
        ctx.db('jobs').insert({ organization_id, kind: 'project-summary', payload: '{"projectId":1}', scope: null }),
      );
      await ctx.jobs.drain();
      const failed = await tdb.knex()('jobs').where({ scope: null }).first();
      assert.equal(failed.status, 'failed');
      assert.match(failed.result, /no scope snapshot/);
    });
  });
}
