// Producer side without Redis: what scopedJobData, scopedFlow and scopedQueue put in a job, and
// when they refuse.
import assert from 'node:assert/strict';
import { readJobScope, SCOPE_KEY, scopedFlow, scopedJobData, scopedQueue } from '@knex-scopes/bullmq';
import { ALL, captureScope, isScopeError, type ScopeSnapshot, scope, scopesDisabled } from '@knex-scopes/core';

const tenant = (t: number | string | bigint | typeof ALL) => scope({ tenant: t }, captureScope);

describe('@knex-scopes/bullmq: scopedJobData', () => {
  it('stamps the data with the scope in force, leaving the rest and the input alone', () => {
    const input = { reportId: 7 };
    const data = scope({ tenant: 1 }, () => scopedJobData(input));
    assert.deepEqual(data, { reportId: 7, [SCOPE_KEY]: { knexScopes: 1, enabled: true, values: { tenant: 1 } } });
    assert.deepEqual(input, { reportId: 7 });
  });

  it('is JSON through and through: a bigint key and ALL survive JSON.stringify', () => {
    const data = scope({ tenant: 12345678901234567890n, region: ALL }, () => scopedJobData({}));
    const back = JSON.parse(JSON.stringify(data)) as { [SCOPE_KEY]: ScopeSnapshot };
    assert.deepEqual(back[SCOPE_KEY].values, { tenant: { $bigint: '12345678901234567890' }, region: { $all: true } });
    assert.deepEqual(readJobScope({ data: back }), data[SCOPE_KEY]);
  });

  it('an explicit snapshot wins over the scope in force, and over a key already in the data', () => {
    const explicit = tenant(2);
    const data = scope({ tenant: 1 }, () => scopedJobData({ [SCOPE_KEY]: tenant(3), n: 1 }, explicit));
    assert.deepEqual(data[SCOPE_KEY], explicit);
    assert.equal(data.n, 1);
  });

  it('outside any scope, without a snapshot: SCOPE_MISSING, saying how to fix it', () => {
    assert.throws(
      () => scopedJobData({ n: 1 }),
      (error: unknown) =>
        isScopeError(error, 'SCOPE_MISSING') &&
        /outside any scope/.test(error.message) &&
        /scopedJobData\(data, snapshot\)/.test(error.message) &&
        /ALL/.test(error.message),
    );
    assert.throws(
      () => scope({}, () => scopedJobData({})),
      (e: unknown) => isScopeError(e, 'SCOPE_MISSING'),
    );
  });

  it('scopesDisabled and ALL are explicit choices: both are stamped', () => {
    const disabled = scopesDisabled(() => scopedJobData({}));
    assert.deepEqual(disabled[SCOPE_KEY], { knexScopes: 1, enabled: false, values: {} });
    const all = scope({ tenant: ALL }, () => scopedJobData({}));
    assert.deepEqual(all[SCOPE_KEY], { knexScopes: 1, enabled: true, values: { tenant: { $all: true } } });
    const explicitAll = scopedJobData({}, tenant(ALL));
    assert.deepEqual(explicitAll[SCOPE_KEY], all[SCOPE_KEY]);
  });

  it('an explicit snapshot that is not one is refused at once (INVALID_SNAPSHOT)', () => {
    const bad = [
      { knexScopes: 2, enabled: true, values: { tenant: 1 } },
      { knexScopes: 1, enabled: 'yes', values: {} },
      { knexScopes: 1, enabled: true, values: { tenant: { id: 1 } } }, // a row, not a key
      'tenant 1',
    ];
    for (const snapshot of bad) {
      assert.throws(
        () => scopedJobData({}, snapshot as unknown as ScopeSnapshot),
        (error: unknown) => isScopeError(error, 'INVALID_SNAPSHOT'),
        JSON.stringify(snapshot),
      );
    }
  });

  it('refuses data that cannot carry a key faithfully: arrays, primitives, class instances', () => {
    class Report {
      constructor(readonly id: number) {}
    }
    for (const data of [[1, 2], new Report(1), new Map()]) {
      assert.throws(() => scope({ tenant: 1 }, () => scopedJobData(data)), TypeError);
    }
    assert.throws(() => scope({ tenant: 1 }, () => scopedJobData('x' as unknown as object)), TypeError);
    assert.ok(scope({ tenant: 1 }, () => scopedJobData(Object.create(null) as object)));
  });
});

describe('@knex-scopes/bullmq: scopedFlow', () => {
  it('stamps every node at every depth with one snapshot, copying the tree', () => {
    const flow = {
      name: 'report',
      queueName: 'reports',
      data: { id: 1 },
      children: [
        { name: 'part', queueName: 'parts', data: { part: 1 } },
        { name: 'part', queueName: 'parts', children: [{ name: 'leaf', queueName: 'leaves', data: { leaf: true } }] },
      ],
    };
    const copy = scope({ tenant: 4 }, () => scopedFlow(flow));
    const snapshot = tenant(4);
    assert.deepEqual(copy, {
      name: 'report',
      queueName: 'reports',
      data: { id: 1, [SCOPE_KEY]: snapshot },
      children: [
        { name: 'part', queueName: 'parts', data: { part: 1, [SCOPE_KEY]: snapshot } },
        {
          name: 'part',
          queueName: 'parts',
          data: { [SCOPE_KEY]: snapshot },
          children: [{ name: 'leaf', queueName: 'leaves', data: { leaf: true, [SCOPE_KEY]: snapshot } }],
        },
      ],
    });
    assert.equal(SCOPE_KEY in flow.data, false, 'the input is not modified');
    assert.deepEqual(scopedFlow(flow, tenant(5)).children[0]?.data, { part: 1, [SCOPE_KEY]: tenant(5) });
  });

  it('outside any scope, without a snapshot: SCOPE_MISSING', () => {
    assert.throws(
      () => scopedFlow({ name: 'x', queueName: 'q' }),
      (e: unknown) => isScopeError(e, 'SCOPE_MISSING'),
    );
  });
});

describe('@knex-scopes/bullmq: scopedQueue (against a recording fake)', () => {
  function fakeQueue() {
    const calls: Array<{ method: string; args: unknown[] }> = [];
    const record =
      (method: string) =>
      async (...args: unknown[]) => {
        calls.push({ method, args });
        return { method };
      };
    const queue = {
      add: record('add') as (name: string, data: { n: number }, opts?: { attempts?: number }) => Promise<unknown>,
      addBulk: record('addBulk') as (jobs: Array<{ name: string; data: { n: number } }>) => Promise<unknown>,
      upsertJobScheduler: record('upsertJobScheduler') as (
        id: string,
        repeat: { every: number },
        template?: { name?: string; data?: { n: number } },
      ) => Promise<unknown>,
    };
    return { queue, calls };
  }

  it('add and addBulk stamp the scope in force; options pass through', async () => {
    const { queue, calls } = fakeQueue();
    const scoped = scopedQueue(queue);
    assert.equal(scoped.queue, queue);
    await scope({ tenant: 2 }, async () => {
      await scoped.add('a', { n: 1 }, { attempts: 3 });
      await scoped.addBulk([
        { name: 'b', data: { n: 2 } },
        { name: 'c', data: { n: 3 } },
      ]);
    });
    const stamped = { knexScopes: 1, enabled: true, values: { tenant: 2 } };
    assert.deepEqual(calls, [
      { method: 'add', args: ['a', { n: 1, [SCOPE_KEY]: stamped }, { attempts: 3 }] },
      {
        method: 'addBulk',
        args: [
          [
            { name: 'b', data: { n: 2, [SCOPE_KEY]: stamped } },
            { name: 'c', data: { n: 3, [SCOPE_KEY]: stamped } },
          ],
        ],
      },
    ]);
  });

  it('outside any scope add and addBulk reject with SCOPE_MISSING and never reach the queue', async () => {
    const { queue, calls } = fakeQueue();
    const scoped = scopedQueue(queue);
    await assert.rejects(scoped.add('a', { n: 1 }), (e: unknown) => isScopeError(e, 'SCOPE_MISSING'));
    await assert.rejects(scoped.addBulk([{ name: 'a', data: { n: 1 } }]), (e: unknown) =>
      isScopeError(e, 'SCOPE_MISSING'),
    );
    assert.deepEqual(calls, []);
  });

  it('upsertJobScheduler takes its snapshot explicitly, never the scope in force', async () => {
    const { queue, calls } = fakeQueue();
    const scoped = scopedQueue(queue);
    await scope({ tenant: 1 }, () =>
      scoped.upsertJobScheduler('nightly', { every: 1000 }, { data: { n: 1 } }, tenant(3)),
    );
    await scoped.upsertJobScheduler('all', { every: 1000 }, { name: 'sweep' }, tenant(ALL));
    const missing = undefined as unknown as ScopeSnapshot; // what a JavaScript caller could do
    await assert.rejects(
      scope({ tenant: 1 }, () => scoped.upsertJobScheduler('x', { every: 1000 }, {}, missing)),
      (e: unknown) => isScopeError(e, 'SCOPE_MISSING') && /4th argument/.test((e as Error).message),
    );
    assert.deepEqual(
      calls.map((call) => call.args),
      [
        ['nightly', { every: 1000 }, { data: { n: 1, [SCOPE_KEY]: tenant(3) } }],
        ['all', { every: 1000 }, { name: 'sweep', data: { [SCOPE_KEY]: tenant(ALL) } }],
      ],
    );
  });
});
