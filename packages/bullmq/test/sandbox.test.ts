// A sandboxed processor (a file BullMQ runs in a child process or a worker thread): the scope
// comes from the job's data alone, and a refusal keeps BullMQ from retrying across the process
// boundary, where the error travels as JSON.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SCOPE_KEY, scopedQueue } from '@knex-scopes/bullmq';
import { ALL, captureScope, type ScopeSnapshot, scope } from '@knex-scopes/core';
import { Queue, Worker } from 'bullmq';
import { describeWithRedis } from '../../../test/support/redis';
import {
  ALL_PROJECTS,
  bullmqClientMissing,
  connectionOf,
  createTenantDb,
  finished,
  projectsOf,
  type TenantDb,
  uniqueQueueName,
} from './harness';

const PROCESSOR_FILE = join(__dirname, 'fixtures', 'sandboxed-processor.cjs');

interface SandboxResult {
  readonly pid: number;
  readonly isMainThread: boolean;
  readonly scope: ScopeSnapshot;
  readonly names: string[];
}

describeWithRedis(
  '@knex-scopes/bullmq: a sandboxed processor file',
  (redis) => {
    let tdb: TenantDb;
    before(async () => {
      tdb = await createTenantDb();
    });
    after(async () => {
      await tdb?.destroy();
    });

    for (const useWorkerThreads of [false, true]) {
      describe(useWorkerThreads ? 'in a worker thread' : 'in a child process', () => {
        let queue: Queue;
        let worker: Worker;
        beforeEach(() => {
          queue = new Queue(uniqueQueueName('sandbox'), { connection: connectionOf(redis()) });
          worker = new Worker(queue.name, PROCESSOR_FILE, { connection: connectionOf(redis()), useWorkerThreads });
          worker.on('error', () => {});
        });
        afterEach(async () => {
          await worker.close();
          await queue.obliterate({ force: true });
          await queue.close();
        });

        it("runs each job in its own scope, outside this process's scope storage", async function () {
          this.timeout(30_000); // the first job starts the child (through tsx)
          const scoped = scopedQueue(queue);
          const jobs = [
            await scope({ tenant: 2 }, () => scoped.add('list', { dbFile: tdb.file })),
            await scope({ tenant: ALL }, () => scoped.add('list', { dbFile: tdb.file })),
          ];
          const results: SandboxResult[] = [];
          for (const job of jobs) {
            const { state, job: done } = await finished<unknown, SandboxResult>(queue, job.id, 25_000);
            assert.equal(state, 'completed', done.failedReason);
            results.push(done.returnvalue);
          }
          const [tenant2, all] = results as [SandboxResult, SandboxResult];
          if (useWorkerThreads) assert.equal(tenant2.isMainThread, false);
          else assert.notEqual(tenant2.pid, process.pid);
          assert.deepEqual(tenant2.scope, scope({ tenant: 2 }, captureScope));
          assert.deepEqual(tenant2.names, projectsOf(2));
          assert.deepEqual(all.names, ALL_PROJECTS);
        });

        it('refuses a job without a snapshot after one attempt (the refusal survives the trip back)', async function () {
          this.timeout(30_000);
          for (const data of [{ dbFile: tdb.file }, { dbFile: tdb.file, [SCOPE_KEY]: { knexScopes: 2 } }]) {
            const added = await queue.add('unscoped', data, { attempts: 3 });
            const { state, job } = await finished(queue, added.id, 25_000);
            assert.equal(state, 'failed');
            assert.equal(job.attemptsMade, 1);
            assert.match(job.failedReason, /^INVALID_SNAPSHOT: job \d+ "unscoped"/);
          }
        });
      });
    }
  },
  bullmqClientMissing,
);
