import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { bindScope, getScope, scope } from '@knex-scopes/core';

/** The part of a scope implementation this scenario drives. */
interface Impl {
  run<T>(tenant: number, fn: () => Promise<T>): Promise<T>;
  current(): unknown;
  bind<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
}

const real: Impl = {
  run: (tenant, fn) => scope({ tenant }, fn),
  current: () => getScope().values.tenant,
  bind: (fn) => bindScope(fn),
};

// The implementation the test must catch: one module-global variable saved and restored
// around the function (restored when its promise settles, so async bodies "keep" it).
function naive(): Impl {
  let current: unknown;
  return {
    run(tenant, fn) {
      const saved = current;
      current = tenant;
      return fn().finally(() => {
        current = saved;
      });
    },
    current: () => current,
    bind(fn) {
      const captured = current;
      return (...args) => {
        const saved = current;
        current = captured;
        try {
          return fn(...args);
        } finally {
          current = saved;
        }
      };
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Observation {
  flow: 'A' | 'B';
  where: string;
  expected: number;
  seen: unknown;
}

/*
 * The forced interleaving (A runs as tenant 1, B as tenant 2):
 *  1. A starts, registers a bound listener and an unbound one on its own emitter, and builds a
 *     promise chain on a gate that B will resolve; then A waits on gate a1.
 *  2. B starts (a naive global now says 2), registers its listener, releases a1 and waits.
 *     -> A resumes after `await` while the global says 2: the naive version sees 2 here.
 *  3. A waits on a timer and on setImmediate; B is released from outside, schedules a timer
 *     callback, resolves A's chain from its own context, and emits on the shared emitter.
 *     -> A's chain and A's bound listener run from B's code: naive sees 2 (or the last writer).
 *  4. A's own emitter fires from A's timer, after B has overwritten the global.
 * Every observation must show the flow's own tenant.
 */
async function interleave(impl: Impl): Promise<Observation[]> {
  const observations: Observation[] = [];
  const note = (flow: 'A' | 'B', where: string) =>
    observations.push({ flow, where, expected: flow === 'A' ? 1 : 2, seen: impl.current() });
  const gates = { a1: deferred(), a2: deferred(), b1: deferred(), cross: deferred() };
  const shared = new EventEmitter();
  const ownA = new EventEmitter();

  const flowA = impl.run(1, async () => {
    note('A', 'start');
    shared.on(
      'tick',
      impl.bind(() => note('A', 'bound listener, emitted by B')),
    );
    ownA.on('ping', () => note('A', 'unbound listener, emitted from A timer'));
    const chain = gates.cross.promise.then(() => note('A', 'chain built in A, resolved by B'));
    await gates.a1.promise;
    note('A', 'after await released by B');
    await new Promise((r) => setTimeout(r, 3));
    note('A', 'after setTimeout');
    setTimeout(() => ownA.emit('ping'), 1);
    await new Promise((r) => setImmediate(r));
    note('A', 'after setImmediate');
    await gates.a2.promise;
    note('A', 'after second gate');
    await chain;
    await new Promise((r) => setTimeout(r, 5));
  });

  const flowB = impl.run(2, async () => {
    note('B', 'start');
    shared.on(
      'tick',
      impl.bind(() => note('B', 'bound listener, emitted by B')),
    );
    gates.a1.resolve();
    await gates.b1.promise;
    note('B', 'after gate released from outside');
    setTimeout(() => note('B', 'timer callback'), 1);
    gates.cross.resolve();
    shared.emit('tick');
    await new Promise((r) => setImmediate(r));
    gates.a2.resolve();
    await new Promise((r) => setTimeout(r, 4));
    note('B', 'after setTimeout');
  });

  setImmediate(() => gates.b1.resolve());
  await Promise.all([flowA, flowB]);
  return observations;
}

function wrong(observations: Observation[]): Observation[] {
  return observations.filter((o) => o.seen !== o.expected);
}

describe('scope state under interleaving', () => {
  it('keeps each flow in its own scope at awaits, timers, setImmediate, emitters and cross-resolved chains', async () => {
    const observations = await interleave(real);
    assert.equal(observations.length, 13, 'every step of the scenario ran');
    assert.deepEqual(wrong(observations), []);
    assert.deepEqual(getScope().values, {}, 'nothing leaks out of the flows');
  });

  it('the same scenario catches a naive global save/restore implementation', async () => {
    const bad = wrong(await interleave(naive()));
    assert.ok(bad.length >= 3, `naive implementation should be caught, saw ${bad.length} wrong observations`);
    assert.ok(bad.some((o) => o.where === 'after await released by B'));
    assert.ok(bad.some((o) => o.where === 'chain built in A, resolved by B'));
  });

  it('1 000 concurrent flows over 50 scope values each see only their own value at every step', async () => {
    // A small deterministic PRNG keeps the run reproducible.
    let seed = 0x2f6b1d;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const waits: Array<() => Promise<unknown>> = [
      () => new Promise((r) => setTimeout(r, Math.floor(random() * 4))),
      () => new Promise((r) => setImmediate(r)),
      () => Promise.resolve(),
      () => new Promise((r) => process.nextTick(r)),
    ];
    let steps = 0;
    let mismatches = 0;
    const flows = Array.from({ length: 1000 }, (_, i) => {
      const tenant = `t${i % 50}`;
      return scope({ tenant }, async () => {
        for (let step = 0; step < 6; step++) {
          const wait = waits[Math.floor(random() * waits.length)] as () => Promise<unknown>;
          await wait();
          steps++;
          if (getScope().values.tenant !== tenant) mismatches++;
          if (step === 3) {
            // a nested scope inside the flow must not disturb it after it ends
            await scope({ user: `u${i}` }, async () => {
              await Promise.resolve();
              if (getScope().values.tenant !== tenant || getScope().values.user !== `u${i}`) mismatches++;
            });
            if (getScope().values.user !== undefined) mismatches++;
          }
        }
      });
    });
    await Promise.all(flows);
    assert.equal(steps, 6000);
    assert.equal(mismatches, 0);
  });
});
