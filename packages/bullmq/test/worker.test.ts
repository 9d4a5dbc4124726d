// End to end against a real Redis and a scoped Knex on SQLite: jobs queued in a scope run their
// processor in that scope, jobs without one are refused, whatever scope the worker is in.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { SCOPE_KEY, scopedFlow, scopedJobData, scopedProcessor, scopedQueue } from '@knex-scopes/bullmq';
import {
  ALL,
  captureScope,
  getScope,
  isScopeError,
  type ScopeSnapshot,
  scope,
  scopesDisabled,
} from '@knex-scopes/core';
import { FlowProducer, type Job, type Processor, Queue, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import { describeWithRedis } from '../../../test/support/redis';
import {
  ALL_PROJECTS,
  bullmqClientMissing,
  connectionOf,
  createTenantDb,
  finished,
  projectsOf,
  TENANTS,
  type TenantDb,
  uniqueQueueName,
} from './harness';

interface Listed {
  readonly scope: ScopeSnapshot;
  readonly names: string[];
}

const snapshotOf = (tenant: number | typeof ALL): ScopeSnapshot => scope({ tenant }, captureScope);

describeWithRedis(
  '@knex-scopes/bullmq: jobs on a real Redis',
  (redis) => {
    let tdb: TenantDb;
    const closers: Array<() => Promise<unknown>> = [];

    before(async () => {
      tdb = await createTenantDb();
    });
    // Workers before the queues they serve (last made, first closed); all before Redis stops.
    afterEach(async () => {
      for (let close = closers.pop(); close; close = closers.pop()) await close();
    });
    after(async () => {
      await tdb?.destroy();
    });

    function newQueue(label: string): Queue {
      const queue = new Queue(uniqueQueueName(label), { connection: connectionOf(redis()) });
      closers.push(async () => {
        await queue.obliterate({ force: true });
        await queue.close();
      });
      return queue;
    }

    function newWorker<D = unknown, R = unknown>(
      queue: Queue,
      processor: Processor<D, R>,
      options: Partial<WorkerOptions> = {},
    ): Worker<D, R> {
      const worker = new Worker<D, R>(queue.name, processor, { connection: connectionOf(redis()), ...options });
      worker.on('error', () => {}); // connection noise while closing; outcomes are asserted on jobs
      closers.push(() => worker.close());
      return worker;
    }

    /** The processor most tests use: what its scope is, and which projects a scoped query returns. */
    const listProjects = scopedProcessor(
      async (): Promise<Listed> => ({
        scope: captureScope(),
        names: await tdb.db('projects').orderBy('name').pluck('name'),
      }),
    );

    async function completed(queue: Queue, id: string | undefined): Promise<Listed> {
      const { state, job } = await finished<unknown, Listed>(queue, id);
      assert.equal(state, 'completed', `job ${id} failed: ${job.failedReason}`);
      return job.returnvalue;
    }

    it('add: the processor runs in the scope the job was queued in', async () => {
      const queue = newQueue('add');
      newWorker(queue, listProjects);
      const job = await scope({ tenant: 1 }, () => scopedQueue(queue).add('list', { report: 'weekly' }));
      assert.deepEqual(job.data, { report: 'weekly', [SCOPE_KEY]: snapshotOf(1) });
      const result = await completed(queue, job.id);
      assert.deepEqual(result, { scope: snapshotOf(1), names: projectsOf(1) });
    });

    it('addBulk: every job runs in the scope it was queued in', async () => {
      const queue = newQueue('bulk');
      newWorker(queue, listProjects, { concurrency: 3 });
      const scoped = scopedQueue(queue);
      const jobs = [
        ...(await scope({ tenant: 2 }, () =>
          scoped.addBulk([
            { name: 'a', data: {} },
            { name: 'b', data: { x: 1 } },
          ]),
        )),
        ...(await scope({ tenant: 3 }, () => scoped.addBulk([{ name: 'c', data: {} }]))),
      ];
      const results = await Promise.all(jobs.map((job) => completed(queue, job.id)));
      assert.deepEqual(
        results.map((r) => r.names),
        [projectsOf(2), projectsOf(2), projectsOf(3)],
      );
    });

    it('a flow: parent and child each run in the scope the flow was queued in', async () => {
      const parents = newQueue('flow-parent');
      const children = newQueue('flow-child');
      newWorker(parents, listProjects);
      newWorker(children, listProjects);
      const producer = new FlowProducer({ connection: connectionOf(redis()) });
      closers.push(() => producer.close());
      const node = await scope({ tenant: 3 }, () =>
        producer.add(
          scopedFlow({
            name: 'parent',
            queueName: parents.name,
            data: { kind: 'summary' },
            children: [{ name: 'child', queueName: children.name, data: { part: 1 } }],
          }),
        ),
      );
      const child = node.children?.[0];
      assert.ok(child);
      assert.deepEqual((await completed(children, child.job.id)).names, projectsOf(3));
      assert.deepEqual((await completed(parents, node.job.id)).names, projectsOf(3));
    });

    it("a job scheduler's jobs run in the template's explicit snapshot (a tenant, or ALL)", async () => {
      const queue = newQueue('scheduler');
      newWorker(queue, listProjects);
      const scoped = scopedQueue(queue);
      const first = await scoped.upsertJobScheduler(
        'tenant-4-nightly',
        { every: 3_600_000 },
        { name: 'nightly', data: { kind: 'report' } },
        snapshotOf(4),
      );
      assert.deepEqual((await completed(queue, first.id)).names, projectsOf(4));
      const sweep = await scoped.upsertJobScheduler(
        'every-tenant',
        { every: 3_600_000 },
        { name: 'sweep' },
        snapshotOf(ALL),
      );
      const result = await completed(queue, sweep.id);
      assert.deepEqual(result.scope, { knexScopes: 1, enabled: true, values: { tenant: { $all: true } } });
      assert.deepEqual(result.names, ALL_PROJECTS);
      await queue.removeJobScheduler('tenant-4-nightly');
      await queue.removeJobScheduler('every-tenant');
    });

    it('a scopesDisabled snapshot, given explicitly, runs the job with enforcement lifted', async () => {
      const queue = newQueue('disabled');
      newWorker(queue, listProjects);
      const job = await queue.add('all', scopedJobData({}, scopesDisabled(captureScope)));
      const result = await completed(queue, job.id);
      assert.deepEqual(result, { scope: { knexScopes: 1, enabled: false, values: {} }, names: ALL_PROJECTS });
    });

    it('a retried job keeps its scope on every attempt', async () => {
      const queue = newQueue('retry');
      const attempts: Array<{ attemptsMade: number; values: unknown }> = [];
      newWorker(
        queue,
        scopedProcessor(async (job: Job) => {
          attempts.push({ attemptsMade: job.attemptsMade, values: getScope().values });
          if (job.attemptsMade === 0) throw new Error('the first attempt fails');
          return listProjects(job);
        }),
      );
      const job = await scope({ tenant: 5 }, () => scopedQueue(queue).add('flaky', {}, { attempts: 2 }));
      assert.deepEqual((await completed(queue, job.id)).names, projectsOf(5));
      assert.deepEqual(attempts, [
        { attemptsMade: 0, values: { tenant: 5 } },
        { attemptsMade: 1, values: { tenant: 5 } },
      ]);
    });

    /** Adds `data` with plain queue.add (3 attempts allowed); returns the failed job and the worker's error. */
    async function refused(queue: Queue, worker: Worker, data: object) {
      const event = once(worker, 'failed') as Promise<[Job, Error]>;
      const added = await queue.add('unscoped', data, { attempts: 3 });
      const { state, job } = await finished(queue, added.id);
      const [, error] = await event;
      assert.equal(state, 'failed');
      assert.equal(job.attemptsMade, 1, 'refused once, not retried');
      assert.match(job.failedReason, /^INVALID_SNAPSHOT: job \d+ "unscoped" of queue /);
      assert.ok(error instanceof UnrecoverableError);
      assert.equal((error as Error & { code?: string }).code, 'INVALID_SNAPSHOT');
      assert.ok(isScopeError(error.cause, 'INVALID_SNAPSHOT'));
      return job;
    }

    it('a job without a snapshot fails after exactly one attempt; the processor never runs', async () => {
      const queue = newQueue('missing');
      let ran = 0;
      const worker = newWorker(
        queue,
        scopedProcessor(async () => {
          ran += 1;
        }),
      );
      const job = await refused(queue, worker, { report: 'weekly' });
      assert.match(job.failedReason, /carries no scope snapshot/);
      assert.equal(ran, 0);
    });

    it('a tampered snapshot (not an object, another version, a bad value) is refused the same way', async () => {
      const queue = newQueue('tampered');
      let ran = 0;
      const worker = newWorker(
        queue,
        scopedProcessor(async () => {
          ran += 1;
        }),
      );
      for (const tampered of [
        'tenant 1',
        { knexScopes: 2, enabled: true, values: { tenant: 1 } },
        { knexScopes: 1, enabled: true, values: { tenant: null } },
      ]) {
        const job = await refused(queue, worker, { [SCOPE_KEY]: tampered });
        assert.match(job.failedReason, /has an invalid job\.data\.__knexScope/);
      }
      assert.equal(ran, 0);
    });

    it('a processor that drops the key with job.updateData() gets its retry refused', async () => {
      const queue = newQueue('update-data');
      let ran = 0;
      newWorker(
        queue,
        scopedProcessor(async (job: Job) => {
          ran += 1;
          await job.updateData({ replaced: true });
          throw new Error('fails after replacing its data');
        }),
      );
      const job = await scope({ tenant: 1 }, () => scopedQueue(queue).add('x', {}, { attempts: 3 }));
      const { state, job: after } = await finished(queue, job.id);
      assert.equal(state, 'failed');
      assert.equal(ran, 1);
      assert.equal(after.attemptsMade, 2);
      assert.match(after.failedReason, /^INVALID_SNAPSHOT/);
    });

    it("a Worker constructed inside a scope still runs each job in the job's own scope", async () => {
      const queue = newQueue('ambient');
      const control = newQueue('ambient-control');
      let ran = 0;
      const worker = scope({ tenant: 1 }, () =>
        newWorker(
          queue,
          scopedProcessor(async (job: Job) => {
            ran += 1;
            return listProjects(job);
          }),
        ),
      );
      // The leak the wrapper exists for: a plain processor of such a worker sees tenant 1.
      scope({ tenant: 1 }, () => newWorker(control, async () => getScope().values));
      const plain = await control.add('plain', {});
      assert.deepEqual((await finished(control, plain.id)).job.returnvalue, { tenant: 1 });

      const job = await scope({ tenant: 2 }, () => scopedQueue(queue).add('t2', {}));
      assert.deepEqual(await completed(queue, job.id), { scope: snapshotOf(2), names: projectsOf(2) });
      await refused(queue, worker, { report: 'no scope' }); // tenant 1 in force does not count
      assert.equal(ran, 1);
    });

    it('50 jobs of 5 tenants, interleaved at concurrency 10, never see each other', async function () {
      this.timeout(30_000);
      const queue = newQueue('interleaved');
      let inFlight = 0;
      let maxInFlight = 0;
      newWorker(
        queue,
        scopedProcessor(async (job: Job<{ tenant: number }>) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            const before = await tdb.db('projects').orderBy('name').pluck('name');
            await new Promise((resolve) => setTimeout(resolve, 1 + ((Number(job.id) * 7) % 15)));
            const after = await tdb.db('projects').orderBy('name').pluck('name');
            return { tenant: job.data.tenant, values: getScope().values, before, after };
          } finally {
            inFlight -= 1;
          }
        }),
        { concurrency: 10 },
      );
      const scoped = scopedQueue(queue);
      const jobs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const tenant = TENANTS[i % TENANTS.length] as number;
          return scope({ tenant }, () => scoped.add(`job-${i}`, { tenant }));
        }),
      );
      for (const job of jobs) {
        const { state, job: done } = await finished(queue, job.id, 20_000);
        assert.equal(state, 'completed', done.failedReason);
        const { tenant, values, before, after } = done.returnvalue as {
          tenant: number;
          values: unknown;
          before: string[];
          after: string[];
        };
        assert.deepEqual(
          { values, before, after },
          { values: { tenant }, before: projectsOf(tenant), after: projectsOf(tenant) },
        );
      }
      assert.ok(maxInFlight > 1, `jobs overlapped (at most ${maxInFlight} at once)`);
    });

    it('queueing outside any scope throws at add time, and nothing reaches Redis', async () => {
      const queue = newQueue('outside');
      const scoped = scopedQueue(queue);
      const missing = (e: unknown) => isScopeError(e, 'SCOPE_MISSING');
      await assert.rejects(scoped.add('a', {}), missing);
      await assert.rejects(scoped.addBulk([{ name: 'b', data: {} }]), missing);
      assert.throws(() => queue.add('c', scopedJobData({})), missing);
      assert.throws(() => scopedFlow({ name: 'd', queueName: queue.name }), missing);
      const counts = await queue.getJobCounts();
      assert.deepEqual(
        Object.values(counts).filter((n) => n > 0),
        [],
      );
    });

    it('jobs queued from inside a scoped processor inherit its scope', async () => {
      const first = newQueue('inherit-first');
      const second = newQueue('inherit-second');
      const scopedSecond = scopedQueue(second);
      newWorker(
        first,
        scopedProcessor(async () => (await scopedSecond.add('follow-up', { from: 'first' })).id),
      );
      newWorker(second, listProjects);
      const job = await scope({ tenant: 4 }, () => scopedQueue(first).add('start', {}));
      const { state, job: done } = await finished<unknown, string>(first, job.id);
      assert.equal(state, 'completed', done.failedReason);
      assert.deepEqual(await completed(second, done.returnvalue), { scope: snapshotOf(4), names: projectsOf(4) });
    });
  },
  bullmqClientMissing,
);
