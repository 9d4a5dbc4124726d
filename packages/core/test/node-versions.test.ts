// What the scope relies on from AsyncLocalStorage, checked on every Node release we support
// (`npm run test:node -- 22|24` runs this file under that release). Node 24 reimplemented
// AsyncLocalStorage on AsyncContextFrame (Node 22 has it behind a flag); these tests pin down
// the guarantees that hold on both implementations, and show the enterWith() cases that do not,
// which is why the library only ever uses run() and exit().
import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { EventEmitter, EventEmitterAsyncResource } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindScope, getScope, scope, scopesDisabled } from '@knex-scopes/core';

const root = join(__dirname, '..', '..', '..');
const [major = 0, minor = 0, patch = 0] = process.versions.node.split('.').map(Number);

/** Whether this process runs AsyncLocalStorage on AsyncContextFrame (default from Node 24). */
function usesAsyncContextFrame(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (major >= 24) return !flags.includes('--no-async-context-frame');
  return flags.includes('--experimental-async-context-frame');
}

/** `^a.b.c || ^d.e.f` ranges, the only form our engines field uses. */
function satisfiesCaretRanges(range: string): boolean {
  const bounds = range.split('||').map((part) => {
    const match = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    assert.ok(match, `engines part "${part}" is not a ^x.y.z range: we state exactly what we test`);
    return match.slice(1).map(Number) as [number, number, number];
  });
  return bounds.some(
    ([want, wantMinor, wantPatch]) =>
      major === want && (minor > wantMinor || (minor === wantMinor && patch >= wantPatch)),
  );
}

const tenant = (): unknown => getScope().values.tenant;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(`Node ${process.version} (AsyncLocalStorage on ${usesAsyncContextFrame() ? 'AsyncContextFrame' : 'async_hooks'})`, () => {
  describe('the release under test', () => {
    it('is the major this run expects (KNEX_SCOPES_EXPECT_NODE)', function () {
      const expected = process.env.KNEX_SCOPES_EXPECT_NODE;
      if (expected === undefined) this.skip(); // a plain `npm test`: whatever the host runs
      assert.equal(String(major), expected, `expected Node ${expected}, running ${process.version}`);
    });

    it('is one the engines field of every package claims', () => {
      for (const dir of ['.', 'packages/core', 'packages/express', 'packages/koa', 'packages/fastify']) {
        const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
        assert.ok(
          satisfiesCaretRanges(manifest.engines.node),
          `${dir}: ${manifest.engines.node} excludes ${process.version}`,
        );
      }
    });
  });

  describe('the scope survives every way work is deferred', () => {
    it('await, timers, setImmediate, nextTick and queueMicrotask', async () => {
      const seen = await scope({ tenant: 1 }, async () => {
        const seen: Record<string, unknown> = {};
        await null;
        seen.await = tenant();
        seen.setTimeout = await new Promise((resolve) => setTimeout(() => resolve(tenant()), 1));
        seen.setImmediate = await new Promise((resolve) => setImmediate(() => resolve(tenant())));
        seen.nextTick = await new Promise((resolve) => process.nextTick(() => resolve(tenant())));
        seen.queueMicrotask = await new Promise((resolve) => queueMicrotask(() => resolve(tenant())));
        return seen;
      });
      assert.deepEqual(seen, { await: 1, setTimeout: 1, setImmediate: 1, nextTick: 1, queueMicrotask: 1 });
    });

    it('a thenable is called in the scope that awaits it, wherever it was built', async () => {
      // Knex builders are thenables built anywhere and run when awaited.
      const calls: unknown[] = [];
      const thenable = {
        // biome-ignore lint/suspicious/noThenProperty: this object imitates a Knex query builder
        then(resolve: (value: unknown) => void) {
          calls.push(tenant());
          setImmediate(() => resolve(tenant()));
        },
      };
      const first = await scope({ tenant: 1 }, async () => [await thenable, tenant()]);
      const second = await scope({ tenant: 2 }, async () => [await thenable, tenant()]);
      assert.deepEqual(calls, [1, 2]);
      assert.deepEqual(
        [first, second],
        [
          [1, 1],
          [2, 2],
        ],
      );
    });

    it('a promise callback runs in the scope that attached it, not the one that resolved it', async () => {
      let resolveOutside!: () => void;
      const gate = new Promise<void>((resolve) => {
        resolveOutside = resolve;
      });
      const chained = scope({ tenant: 1 }, () => gate.then(tenant));
      await scope({ tenant: 2 }, async () => resolveOutside());
      assert.equal(await chained, 1);
    });

    it('an EventEmitter listener runs in the emitter’s caller scope unless bound with bindScope', async () => {
      const emitter = new EventEmitter();
      const seen: Record<string, unknown> = {};
      scope({ tenant: 1 }, () => {
        emitter.on(
          'event',
          bindScope(() => (seen.bound = tenant())),
        );
        emitter.on('event', () => (seen.unbound = tenant()));
      });
      await scope({ tenant: 2 }, async () => {
        await nextTurn();
        emitter.emit('event');
      });
      assert.deepEqual(seen, { bound: 1, unbound: 2 });
    });

    it('bindScope outside any scope runs the listener outside, even when emitted inside one', () => {
      const emitter = new EventEmitter();
      let seen: unknown = 'not called';
      emitter.on(
        'event',
        bindScope(() => (seen = getScope())),
      );
      scope({ tenant: 3 }, () => emitter.emit('event'));
      assert.deepEqual(seen, { enabled: true, values: {} });
    });

    it('AsyncResource and EventEmitterAsyncResource carry the scope they were created in', async () => {
      const { resource, emitter, bound } = scope({ tenant: 1 }, () => ({
        resource: new AsyncResource('knex-scopes-test'),
        emitter: new EventEmitterAsyncResource({ name: 'knex-scopes-test' }),
        bound: AsyncResource.bind(tenant),
      }));
      const seen: Record<string, unknown> = {};
      emitter.on('event', () => (seen.emitterAsyncResource = tenant()));
      await scope({ tenant: 2 }, async () => {
        await nextTurn();
        seen.runInAsyncScope = resource.runInAsyncScope(tenant);
        seen.bind = bound();
        emitter.emit('event');
        seen.after = tenant();
      });
      assert.deepEqual(seen, { runInAsyncScope: 1, bind: 1, emitterAsyncResource: 1, after: 2 });
      resource.emitDestroy();
      emitter.emitDestroy();
    });

    it('scopesDisabled() survives the same deferrals', async () => {
      const seen = await scope({ tenant: 1 }, () =>
        scopesDisabled(async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return getScope();
        }),
      );
      assert.deepEqual(seen, { enabled: false, values: { tenant: 1 } });
    });
  });

  describe('scope() leaves nothing behind (it never uses enterWith)', () => {
    const outside = { enabled: true, values: {} };

    it('in a sync caller, right after scope() returns or throws', () => {
      scope({ tenant: 1 }, () => tenant());
      assert.deepEqual(getScope(), outside);
      assert.throws(() =>
        scope({ tenant: 1 }, () => {
          throw new Error('inside');
        }),
      );
      assert.deepEqual(getScope(), outside);
    });

    it('in an async caller, after scope() returns, after it settles, and a turn later', async () => {
      const pending = scope({ tenant: 1 }, async () => {
        await nextTurn();
        return tenant();
      });
      assert.deepEqual(getScope(), outside);
      assert.equal(await pending, 1);
      assert.deepEqual(getScope(), outside);
      await nextTurn();
      assert.deepEqual(getScope(), outside);
    });

    it('inside an outer scope: the outer values are back after an inner async scope', async () => {
      await scope({ tenant: 1 }, async () => {
        await scope({ tenant: 2 }, async () => {
          await nextTurn();
        });
        assert.equal(tenant(), 1);
        await nextTurn();
        assert.equal(tenant(), 1);
      });
    });
  });

  describe('why the library avoids enterWith()', () => {
    it('on every release, enterWith() in a callee leaks into its caller and the next listener', async () => {
      const als = new AsyncLocalStorage<string>();
      await als.run('caller', async () => {
        async function callee() {
          als.enterWith('callee'); // before the first await: the caller's synchronous turn
          await null;
        }
        await callee();
        assert.equal(als.getStore(), 'callee');
      });
      const emitter = new EventEmitter();
      let second: string | undefined;
      emitter.on('event', () => als.enterWith('first listener'));
      emitter.on('event', () => (second = als.getStore()));
      als.run('emitter', () => emitter.emit('event'));
      assert.equal(second, 'first listener');
    });

    it('whether enterWith() inside exit() escapes it depends on the implementation', async () => {
      const als = new AsyncLocalStorage<string>();
      const seen = await new Promise<string | undefined>((resolve) => {
        als.run('outer', () => {
          const emitter = new EventEmitter();
          als.exit(() => {
            als.enterWith('entered');
            emitter.on('event', () => resolve(als.getStore()));
          });
          setImmediate(() => emitter.emit('event'));
        });
      });
      // async_hooks stores the value on the current resource, which outlives exit(); a frame is
      // restored when exit() returns (nodejs/node#62290).
      assert.equal(seen, usesAsyncContextFrame() ? 'outer' : 'entered');
    });

    it('whether enterWith() inside an AsyncResource sticks to it depends on the implementation', () => {
      const als = new AsyncLocalStorage<number>();
      const seen = als.run(1, () => {
        const resource = new AsyncResource('knex-scopes-test');
        return resource.runInAsyncScope(() => {
          als.enterWith(2);
          return resource.runInAsyncScope(() => als.getStore());
        });
      });
      // async_hooks writes into the resource; a frame is captured once (nodejs/node#58204).
      assert.equal(seen, usesAsyncContextFrame() ? 1 : 2);
    });
  });

  describe('unhandled rejections inside a scope', () => {
    it('reach process "unhandledRejection" with the scope that rejected still readable', async () => {
      // Mocha listens for unhandled rejections itself; stand in for it for this one event.
      const mochaListeners = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      try {
        const received = await new Promise<{ reason: unknown; tenant: unknown }>((resolve) => {
          process.once('unhandledRejection', (reason) => resolve({ reason, tenant: tenant() }));
          void scope({ tenant: 5 }, async () => {
            await nextTurn();
            throw new Error('unhandled in tenant 5');
          });
        });
        assert.match(String(received.reason), /unhandled in tenant 5/);
        assert.equal(received.tenant, 5);
      } finally {
        for (const listener of mochaListeners) process.on('unhandledRejection', listener);
      }
    });

    it('without a listener, end the process with exit code 1 (the default since Node 15)', () => {
      const child = spawnSync(
        process.execPath,
        [
          '-e',
          `require('@knex-scopes/core').scope({ tenant: 5 }, async () => {
             await null;
             throw new Error('unhandled in tenant 5');
           });
           setTimeout(() => console.log('still running'), 200);`,
        ],
        { cwd: root, encoding: 'utf8' },
      );
      assert.equal(child.status, 1);
      assert.match(child.stderr, /unhandled in tenant 5/);
      assert.doesNotMatch(child.stdout, /still running/);
    });
  });
});
