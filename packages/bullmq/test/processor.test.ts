// Consumer side without Redis: scopedProcessor and readJobScope on plain job objects.
import assert from 'node:assert/strict';
import { readJobScope, SCOPE_KEY, scopedJobData, scopedProcessor } from '@knex-scopes/bullmq';
import { ALL, captureScope, getScope, isScopeError, scope, scopesDisabled } from '@knex-scopes/core';
import { UnrecoverableError } from 'bullmq';

const jobOf = <D>(data: D) => ({ id: '42', name: 'report', queueName: 'reports', data });
const stamped = (tenant: number) => JSON.parse(JSON.stringify(scope({ tenant }, () => scopedJobData({ n: tenant }))));

describe('@knex-scopes/bullmq: scopedProcessor', () => {
  it("runs the job in its own scope, replacing the worker's", async () => {
    const processor = scopedProcessor(async (job: { data: { n: number } }) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { n: job.data.n, values: getScope().values };
    });
    const job = jobOf(stamped(2)); // queued elsewhere: built outside the worker's scope
    const result = await scope({ tenant: 1, user: 9 }, () => processor(job));
    assert.deepEqual(result, { n: 2, values: { tenant: 2 } }); // not merged with { user: 9 }
    assert.deepEqual(getScope().values, {});
  });

  it('restores scopesDisabled and ALL as they were captured', async () => {
    const seen = scopedProcessor(() => getScope());
    const disabled = await seen(jobOf(scope({ tenant: 1 }, () => scopesDisabled(() => scopedJobData({})))));
    assert.deepEqual(disabled, { enabled: false, values: { tenant: 1 } });
    const all = await seen(jobOf(JSON.parse(JSON.stringify(scope({ tenant: ALL }, () => scopedJobData({}))))));
    assert.deepEqual(all, { enabled: true, values: { tenant: ALL } });
  });

  function assertRefusal(error: unknown, pattern: RegExp): true {
    assert.ok(error instanceof UnrecoverableError, 'an UnrecoverableError: BullMQ does not retry it');
    assert.equal(error.name, 'UnrecoverableError');
    assert.equal((error as { code?: unknown }).code, 'INVALID_SNAPSHOT');
    assert.match(error.message, /^INVALID_SNAPSHOT: job 42 "report" of queue "reports" /);
    assert.match(error.message, pattern);
    assert.match(error.message, /scopedQueue\(queue\)\.add\(\)/);
    assert.ok(isScopeError(error.cause, 'INVALID_SNAPSHOT'), 'the ScopeError is the cause');
    return true;
  }

  it('refuses a job without a snapshot, even inside a scope, without calling the processor', async () => {
    let calls = 0;
    const processor = scopedProcessor(() => {
      calls += 1;
    });
    for (const data of [{ n: 1 }, undefined, null, 'text', [1]]) {
      await assert.rejects(
        scope({ tenant: 1 }, () => processor(jobOf(data))),
        (e: unknown) => assertRefusal(e, /carries no scope snapshot/),
      );
    }
    assert.equal(calls, 0);
  });

  it('refuses a tampered snapshot: not an object, another version, a bad value', async () => {
    let calls = 0;
    const processor = scopedProcessor(() => {
      calls += 1;
    });
    const tampered = [
      'tenant 1',
      null,
      { knexScopes: 2, enabled: true, values: { tenant: 1 } },
      { knexScopes: 1, enabled: true, values: { tenant: { id: 1 } } },
      { knexScopes: 1, enabled: true, values: { tenant: { $bigint: '1e3' } } },
    ];
    for (const snapshot of tampered) {
      await assert.rejects(processor(jobOf({ [SCOPE_KEY]: snapshot })), (e: unknown) =>
        assertRefusal(e, /has an invalid job\.data\.__knexScope/),
      );
    }
    assert.equal(calls, 0);
  });

  it("the processor's own errors pass through untouched (they are retried as usual)", async () => {
    const failure = new Error('boom');
    const processor = scopedProcessor(() => {
      throw failure;
    });
    await assert.rejects(processor(jobOf(stamped(1))), (e: unknown) => e === failure);
  });

  it('declares the AbortSignal parameter only when the processor does (BullMQ reads length)', async () => {
    assert.equal(scopedProcessor((_job: object) => 1).length < 3, true);
    let signalSeen: AbortSignal | undefined;
    const withSignal = scopedProcessor((_job: object, _token?: string, signal?: AbortSignal) => {
      signalSeen = signal;
    });
    assert.equal(withSignal.length, 3);
    const controller = new AbortController();
    await withSignal(jobOf(stamped(1)), 'token', controller.signal);
    assert.equal(signalSeen, controller.signal);
  });
});

describe('@knex-scopes/bullmq: readJobScope', () => {
  it('returns the normalised snapshot, or undefined for none or an invalid one', () => {
    assert.deepEqual(readJobScope(jobOf(stamped(3))), scope({ tenant: 3 }, captureScope));
    assert.equal(readJobScope(jobOf({ n: 1 })), undefined);
    assert.equal(readJobScope(jobOf('x')), undefined);
    assert.equal(readJobScope({}), undefined);
    assert.equal(readJobScope(jobOf({ [SCOPE_KEY]: { knexScopes: 2 } })), undefined);
  });
});
