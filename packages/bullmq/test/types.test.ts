// Compile-time checks of the public types (tsc -p packages/bullmq/test, in npm run test:types):
// the function below is type-checked, never called.
import assert from 'node:assert/strict';
import {
  readJobScope,
  type ScopedJobData,
  scopedFlow,
  scopedJobData,
  scopedProcessor,
  scopedQueue,
} from '@knex-scopes/bullmq';
import { captureScope, scope } from '@knex-scopes/core';
import { FlowProducer, type Job, Queue, type SandboxedJob, Worker } from 'bullmq';

interface Report {
  readonly reportId: number;
}

export async function typeChecks(): Promise<void> {
  const connection = { host: '127.0.0.1', port: 6379 };
  // The job's type comes from the Worker's, through scopedProcessor.
  new Worker<Report, number>(
    'reports',
    scopedProcessor(async (job) => job.data.reportId),
    { connection },
  );
  const wrongResult = scopedProcessor(async (job: Job<Report>) => String(job.data.reportId));
  // @ts-expect-error the processor's result must be the Worker's result type
  new Worker<Report, number>('reports', wrongResult, { connection });
  const withSignal = scopedProcessor(async (job: Job<Report>, _token?: string, signal?: AbortSignal) =>
    signal ? job.id : undefined,
  );
  new Worker('reports', withSignal, { connection });
  // A sandboxed processor file's export.
  const sandboxed = scopedProcessor(async (job: SandboxedJob<Report>) => job.data.reportId);
  void sandboxed;

  const queue = new Queue<Report>('reports', { connection });
  const scoped = scopedQueue(queue);
  const job: Job<Report> = await scoped.add('weekly', { reportId: 1 }, { attempts: 3 });
  void job;
  // @ts-expect-error the data must be the queue's
  await scoped.add('weekly', { nope: 1 });
  await scoped.addBulk([{ name: 'a', data: { reportId: 1 }, opts: { priority: 1 } }]);
  await scoped.upsertJobScheduler('nightly', { every: 1000 }, { data: { reportId: 1 } }, captureScope());
  // @ts-expect-error a scheduler's snapshot is never implicit
  await scoped.upsertJobScheduler('nightly', { every: 1000 }, { data: { reportId: 1 } });

  // A queue typed with the stamped data: the wrapper still takes the data without the key.
  const stampedQueue = scopedQueue(new Queue<ScopedJobData<Report>>('stamped', { connection }));
  await stampedQueue.add('x', { reportId: 2 });
  await queue.add('explicit', scopedJobData({ reportId: 3 }, scope({ tenant: 1 }, captureScope)));

  const producer = new FlowProducer({ connection });
  await producer.add(
    scopedFlow({ name: 'parent', queueName: 'reports', data: {}, children: [{ name: 'child', queueName: 'parts' }] }),
  );
  const snapshot = readJobScope(job);
  if (snapshot) {
    const enabled: boolean = snapshot.enabled;
    void enabled;
  }
}

describe('@knex-scopes/bullmq: public types', () => {
  it('are checked by tsc -p packages/bullmq/test (npm run test:types)', () => {
    assert.equal(typeof typeChecks, 'function');
  });
});
