// BullMQ from real requests (issue 22), on Express, Koa and Fastify against a real Redis: a route
// whose tenant comes from the x-tenant header through the adapter queues a job with
// scopedQueue(queue).add(); a Worker with scopedProcessor runs scoped queries (reads the
// tenant's pages and comments, writes a job_runs row) in exactly the request's tenant; requests of
// two tenants interleaved never cross; a route that forgets the snapshot (plain queue.add) gets
// its job refused after one attempt, its body never run. Skipped without redis-server, failed
// under CI=true (test/support/redis.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { SCOPE_KEY, scopedProcessor } from '@knex-scopes/bullmq';
import { defineScopes, getScope, isScopeError } from '@knex-scopes/core';
import { fromHeader, type TenantResolver, tenantResolver } from '@knex-scopes/core/http';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Knex } from 'knex';
import request from 'supertest';
import { bullmqClientMissing, connectionOf, finished, uniqueQueueName } from '../../packages/bullmq/test/harness';
import { forEachDialect } from '../support/databases';
import { describeWithRedis } from '../support/redis';
import { FRAMEWORKS, type Framework, type RunningApp } from './support/apps';
import { buildJobApp, type Queued, type ReportData, type ReportQueue, UNSCOPED_ATTEMPTS } from './support/job-apps';
import { createSchema, PAGES_PER_TENANT, type Tenant } from './support/schema';

const ACME: Tenant = { id: 1, slug: 'acme' };
const BETA: Tenant = { id: 2, slug: 'beta' };

/** The adapter tests' tables, plus job_runs: the rows the jobs write. */
const scopes = defineScopes({
  tables: {
    pages: { tenant: 'tenant_id' },
    comments: { tenant: 'page_id -> pages.tenant_id' },
    job_runs: { tenant: 'tenant_id' },
  },
});

/** What the report job returns: its scope and what its scoped queries saw. */
interface Report {
  readonly scope: Record<string, unknown>;
  readonly request: string;
  /** Distinct tenant_id of the pages the job could read. */
  readonly pageTenants: number[];
  readonly titles: string[];
  readonly comments: number;
}

const titlesOf = (tenant: Tenant) => Array.from({ length: PAGES_PER_TENANT }, (_, i) => `${tenant.slug} page ${i}`);

describeWithRedis(
  'http adapters: BullMQ jobs queued by requests',
  (redis) => {
    forEachDialect('http adapters: BullMQ jobs queued by requests', (testDb) => {
      let base: Knex;
      let db: Knex;
      let resolver: TenantResolver<Tenant>;

      before(async () => {
        base = testDb.knex();
        await createSchema(base);
        await base.schema.createTable('job_runs', (t) => {
          t.increments('id');
          t.integer('tenant_id').notNullable().references('tenants.id');
          t.string('request', 100).notNullable().unique();
          t.integer('pages').notNullable();
        });
        db = scopes.wrap(base);
        resolver = tenantResolver({
          from: fromHeader('x-tenant'),
          lookup: async (slug) => {
            const row = await base('tenants').where({ slug }).first<Tenant | undefined>();
            return row === undefined ? undefined : { id: Number(row.id), slug: row.slug };
          },
        });
      });

      /** The job_runs rows of these requests, read without a scope: request → tenant_id. */
      async function runsOf(requests: readonly string[]): Promise<Record<string, number>> {
        const rows = await base('job_runs')
          .whereIn('request', requests)
          .select<{ request: string; tenant_id: number }[]>('request', 'tenant_id');
        return Object.fromEntries(rows.map((row) => [row.request, Number(row.tenant_id)]));
      }

      for (const framework of FRAMEWORKS) {
        describeFramework(framework);
      }

      function describeFramework(framework: Framework): void {
        describe(framework, () => {
          // Closed after each test, last made first: the app, the worker, then the queue; all
          // before Redis stops (describeWithRedis stops it after the suite's own after hooks).
          const closers: Array<() => Promise<unknown>> = [];
          afterEach(async () => {
            for (let close = closers.pop(); close; close = closers.pop()) await close();
          });

          interface Setup {
            readonly queue: ReportQueue;
            readonly worker: Worker<ReportData, Report>;
            readonly app: RunningApp;
            /** Ids of the jobs whose processor body ran. */
            readonly ran: Set<string>;
          }

          /** A queue of its own, a Worker with the scoped report processor, the app queueing to it. */
          async function setup(label: string, concurrency = 1): Promise<Setup> {
            const connection = connectionOf(redis());
            const queue: ReportQueue = new Queue<ReportData>(uniqueQueueName(`${framework}-${label}`), { connection });
            closers.push(async () => {
              await queue.obliterate({ force: true });
              await queue.close();
            });
            const ran = new Set<string>();
            const worker = new Worker<ReportData, Report>(
              queue.name,
              scopedProcessor(async (job: Job<ReportData, Report>): Promise<Report> => {
                if (job.id !== undefined) ran.add(job.id);
                const pages = await db('pages')
                  .orderBy('id')
                  .select<{ tenant_id: number; title: string }[]>('tenant_id', 'title');
                const comments = await db('comments').count<{ n: number | string }[]>({ n: '*' });
                // Stamped with the job's tenant by the scoped insert: no tenant_id given.
                await db('job_runs').insert({ request: job.data.request, pages: pages.length });
                return {
                  scope: { ...getScope().values },
                  request: job.data.request,
                  pageTenants: [...new Set(pages.map((page) => Number(page.tenant_id)))],
                  titles: pages.map((page) => page.title),
                  comments: Number(comments[0]?.n),
                };
              }),
              { connection, concurrency },
            );
            worker.on('error', () => {}); // connection noise while closing; outcomes are asserted on jobs
            closers.push(() => worker.close());
            const app = await buildJobApp(framework, { resolver, queue });
            closers.push(() => app.close());
            return { queue, worker, app, ran };
          }

          const enqueue = (app: RunningApp, path: string, tenant: Tenant | undefined, requestId: string) => {
            const call = request(app.server).post(path).send({ request: requestId });
            return tenant === undefined ? call : call.set('X-Tenant', tenant.slug);
          };

          /** Waits for the job; asserts it completed in `tenant` and saw that tenant's rows only. */
          async function assertReportOf(queue: ReportQueue, id: string | undefined, tenant: Tenant, requestId: string) {
            const { state, job } = await finished<ReportData, Report>(queue, id);
            assert.equal(state, 'completed', `job ${id} failed: ${job.failedReason}`);
            assert.deepEqual((job.data as Record<string, unknown>)[SCOPE_KEY], {
              knexScopes: 1,
              enabled: true,
              values: { tenant: tenant.id },
            });
            assert.deepEqual(job.returnvalue, {
              scope: { tenant: tenant.id },
              request: requestId,
              pageTenants: [tenant.id],
              titles: titlesOf(tenant),
              comments: PAGES_PER_TENANT,
            });
          }

          it("a job queued by a request runs in the request's tenant: reads its rows only, writes a row stamped with it", async () => {
            const { queue, app, ran } = await setup('one');
            const requestId = `${testDb.dialect}-${framework}-one`;
            const res = await enqueue(app, '/reports', BETA, requestId).expect(202);
            const queued = res.body as Queued;
            assert.equal(queued.tenant, BETA.slug);
            await assertReportOf(queue, queued.id, BETA, requestId);
            assert.deepEqual([...ran], [queued.id]);
            assert.deepEqual(await runsOf([requestId]), { [requestId]: BETA.id });
          });

          it('20 interleaved requests of two tenants: no job sees the other tenant’s rows', async () => {
            const { queue, app, ran } = await setup('interleaved', 5);
            const calls = Array.from({ length: 20 }, (_, i) => ({
              tenant: i % 2 === 0 ? ACME : BETA,
              requestId: `${testDb.dialect}-${framework}-interleaved-${i}`,
            }));
            // All in flight at once: requests, then jobs (5 at a time in the worker), interleave.
            const responses = await Promise.all(
              calls.map(({ tenant, requestId }) => enqueue(app, '/reports', tenant, requestId).expect(202)),
            );
            const ids = responses.map((res) => (res.body as Queued).id);
            assert.deepEqual(
              responses.map((res) => (res.body as Queued).tenant),
              calls.map((call) => call.tenant.slug),
            );
            assert.equal(new Set(ids).size, calls.length, 'one job per request');
            for (const [i, { tenant, requestId }] of calls.entries()) {
              await assertReportOf(queue, ids[i], tenant, requestId);
            }
            assert.equal(ran.size, calls.length);
            const runs = await runsOf(calls.map((call) => call.requestId));
            assert.deepEqual(runs, Object.fromEntries(calls.map((call) => [call.requestId, call.tenant.id])));
          });

          it('a route that queues with plain queue.add: the job fails with INVALID_SNAPSHOT after one attempt, its body never runs', async () => {
            const { queue, worker, app, ran } = await setup('unscoped');
            const requestId = `${testDb.dialect}-${framework}-unscoped`;
            const failedEvent = once(worker, 'failed') as Promise<[Job | undefined, Error]>;
            const res = await enqueue(app, '/reports/unscoped', ACME, requestId).expect(202);
            const queued = res.body as Queued;
            assert.equal(queued.tenant, ACME.slug, 'the request itself was in its scope');
            const { state, job } = await finished<ReportData, Report>(queue, queued.id);
            assert.equal(state, 'failed');
            assert.equal(job.opts.attempts, UNSCOPED_ATTEMPTS);
            assert.equal(job.attemptsMade, 1, 'refused once, not retried');
            assert.equal(SCOPE_KEY in job.data, false);
            assert.match(
              job.failedReason,
              new RegExp(
                `^INVALID_SNAPSHOT: job ${queued.id} "report" of queue "${queue.name}" carries no scope snapshot`,
              ),
            );
            const [failedJob, error] = await failedEvent;
            assert.equal(failedJob?.id, queued.id);
            assert.ok(error instanceof UnrecoverableError);
            assert.equal((error as Error & { code?: string }).code, 'INVALID_SNAPSHOT');
            assert.ok(isScopeError(error.cause, 'INVALID_SNAPSHOT'));
            assert.deepEqual([...ran], [], 'the processor body never ran');
            assert.deepEqual(await runsOf([requestId]), {}, 'and wrote nothing');
          });

          it('a request without a known tenant is answered by the adapter and queues nothing', async () => {
            const { queue, app, ran } = await setup('rejected');
            const keyless = await enqueue(app, '/reports', undefined, 'keyless').expect(400);
            assert.equal(keyless.body.error, 'TENANT_KEY_MISSING');
            const unknown = await enqueue(app, '/reports', { id: 0, slug: 'initech' }, 'unknown').expect(404);
            assert.equal(unknown.body.error, 'TENANT_NOT_FOUND');
            const counts = await queue.getJobCounts();
            assert.deepEqual(
              Object.entries(counts).filter(([, n]) => n > 0),
              [],
            );
            assert.deepEqual([...ran], []);
          });
        });
      }
    });
  },
  bullmqClientMissing,
);
