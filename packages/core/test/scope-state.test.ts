import assert from 'node:assert/strict';
import {
  ALL,
  captureScope,
  getScope,
  isScopeError,
  runInScope,
  ScopeError,
  scope,
  scopesDisabled,
  wrapInScope,
  wrapScopesDisabled,
} from '@knex-scopes/core';

function expectScopeError(fn: () => unknown, code: string, match?: RegExp): ScopeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ScopeError, `expected a ScopeError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (match) assert.match(error.message, match);
    return error;
  }
  assert.fail(`expected ScopeError ${code}, nothing was thrown`);
}

describe('scope state', () => {
  describe('getScope()', () => {
    it('outside everything is enabled with no values, and frozen', () => {
      const state = getScope();
      assert.deepEqual(state, { enabled: true, values: {} });
      assert.ok(Object.isFrozen(state));
      assert.ok(Object.isFrozen(state.values));
    });

    it('inside a scope is a frozen snapshot that later scopes do not change', () => {
      scope({ tenant: 1 }, () => {
        const outer = getScope();
        scope({ tenant: 2 }, () => assert.equal(getScope().values.tenant, 2));
        assert.equal(outer.values.tenant, 1);
        assert.ok(Object.isFrozen(outer) && Object.isFrozen(outer.values));
        assert.throws(() => {
          Object.defineProperty(outer.values, 'tenant', { value: 3 });
        }, TypeError);
        assert.equal(outer.values.tenant, 1);
      });
    });
  });

  describe('scope()', () => {
    it('returns the result of a sync function', () => {
      assert.equal(
        scope({ tenant: 1 }, () => 'done'),
        'done',
      );
    });

    it('returns the promise of an async function, which sees the scope after awaits', async () => {
      const seen = await scope({ tenant: 7 }, async () => {
        await new Promise((r) => setTimeout(r, 2));
        return getScope().values.tenant;
      });
      assert.equal(seen, 7);
      assert.deepEqual(getScope().values, {});
    });

    it('merges nested scopes: the inner one overrides only the dimensions it names', () => {
      scope({ tenant: 1, user: 'u1' }, () => {
        scope({ user: 'u2' }, () => {
          assert.deepEqual(getScope().values, { tenant: 1, user: 'u2' });
        });
      });
    });

    it('restores the outer state exactly on return and on throw', () => {
      scope({ tenant: 1 }, () => {
        const before = getScope();
        scope({ tenant: 2, user: 'x' }, () => undefined);
        assert.equal(getScope(), before);
        assert.throws(
          () =>
            scope({ tenant: 3 }, () => {
              throw new Error('boom');
            }),
          /boom/,
        );
        assert.equal(getScope(), before);
      });
      assert.deepEqual(getScope(), { enabled: true, values: {} });
    });

    it('restores after an async function rejects', async () => {
      await scope({ tenant: 1 }, async () => {
        await assert.rejects(
          scope({ tenant: 2 }, async () => {
            await Promise.resolve();
            throw new Error('late');
          }),
          /late/,
        );
        assert.equal(getScope().values.tenant, 1);
      });
    });

    it('starts a lazy thenable returned by fn inside the scope', async () => {
      // A Knex builder runs its query when `then` is called; the helper must call it inside.
      let seenAtThen: unknown = 'never called';
      const lazy = {
        // biome-ignore lint/suspicious/noThenProperty: this object imitates a lazy query builder
        then(resolve: (v: string) => void) {
          seenAtThen = getScope().values.tenant;
          resolve('rows');
        },
      };
      const result = await scope({ tenant: 1 }, () => lazy);
      assert.equal(result, 'rows');
      assert.equal(seenAtThen, 1);
    });

    it('copies and freezes arrays, and allows the empty array', () => {
      const tenants = [1, 2];
      scope({ tenant: tenants }, () => {
        const value = getScope().values.tenant as readonly number[];
        assert.deepEqual(value, [1, 2]);
        assert.notEqual(value, tenants);
        assert.ok(Object.isFrozen(value));
        tenants.push(3);
        assert.deepEqual(getScope().values.tenant, [1, 2]);
      });
      scope({ tenant: [] }, () => assert.deepEqual(getScope().values.tenant, []));
    });

    it('accepts strings, numbers, bigints and ALL', () => {
      scope({ a: 'acme', b: 0, c: 10n, d: ALL }, () => {
        assert.deepEqual(getScope().values, { a: 'acme', b: 0, c: 10n, d: ALL });
      });
    });

    const invalid: Array<[string, unknown, RegExp]> = [
      ['null', null, /null never means "all"/],
      ['undefined', undefined, /undefined never means "all"/],
      ['NaN', Number.NaN, /NaN is not a key/],
      ['Infinity', Number.POSITIVE_INFINITY, /Infinity is not a key/],
      ['an object (a row)', { id: 1 }, /pass the key \(e\.g\. tenant\.id\), not the row/],
      ['a nested array', [1, [2]], /nested arrays/],
      ['an array holding null', [1, null], /null never means "all"/],
      ['the empty string', '', /empty string/],
      ['a boolean', true, /got boolean/],
      ['a symbol other than ALL', Symbol('x'), /got symbol/],
    ];
    for (const [label, value, message] of invalid) {
      it(`refuses ${label} with INVALID_SCOPE_VALUE, before running fn`, () => {
        let ran = false;
        const error = expectScopeError(
          () =>
            scope({ tenant: value as never }, () => {
              ran = true;
            }),
          'INVALID_SCOPE_VALUE',
          message,
        );
        assert.equal(ran, false);
        assert.deepEqual(error.dimensions, ['tenant']);
        assert.ok(isScopeError(error, 'INVALID_SCOPE_VALUE'));
      });
    }

    it('refuses a non-object argument', () => {
      expectScopeError(() => scope(null as never, () => 1), 'INVALID_SCOPE_VALUE', /takes an object/);
      expectScopeError(() => scope([1] as never, () => 1), 'INVALID_SCOPE_VALUE', /takes an object/);
    });
  });

  describe('scopesDisabled()', () => {
    it('keeps the values but disables enforcement', () => {
      scope({ tenant: 1 }, () => {
        scopesDisabled(() => {
          assert.deepEqual(getScope(), { enabled: false, values: { tenant: 1 } });
        });
        assert.equal(getScope().enabled, true);
      });
    });

    it('is re-enabled by a scope() inside it', () => {
      scopesDisabled(() => {
        scope({ tenant: 2 }, () => assert.deepEqual(getScope(), { enabled: true, values: { tenant: 2 } }));
        assert.equal(getScope().enabled, false);
      });
    });

    it('returns results and starts lazy thenables inside', async () => {
      let enabledAtThen: unknown;
      const lazy = {
        // biome-ignore lint/suspicious/noThenProperty: imitates a lazy query builder
        then(resolve: (v: number) => void) {
          enabledAtThen = getScope().enabled;
          resolve(5);
        },
      };
      assert.equal(await scopesDisabled(() => lazy), 5);
      assert.equal(enabledAtThen, false);
    });
  });

  describe('wrapper forms', () => {
    it('wrapInScope runs every call in the scope, sync and async', async () => {
      const sync = wrapInScope({ tenant: 3 }, (x: number) => [x, getScope().values.tenant]);
      assert.deepEqual(sync(1), [1, 3]);
      const later = wrapInScope({ tenant: 4 }, async (x: string) => {
        await new Promise((r) => setImmediate(r));
        return `${x}:${String(getScope().values.tenant)}`;
      });
      assert.equal(await later('a'), 'a:4');
      assert.deepEqual(getScope().values, {});
    });

    it('wrapInScope validates its values when it is created', () => {
      expectScopeError(() => wrapInScope({ tenant: null as never }, () => 1), 'INVALID_SCOPE_VALUE');
    });

    it('wrapScopesDisabled runs every call disabled', async () => {
      const fn = wrapScopesDisabled(async () => getScope().enabled);
      assert.equal(await scope({ tenant: 1 }, () => fn()), false);
    });
  });

  describe('captureScope() / runInScope()', () => {
    it('round-trips through JSON, bigints, arrays and ALL included', async () => {
      const snapshot = scope({ tenant: 12n, user: ['a', 'b'], org: ALL, n: 5 }, () => captureScope());
      const revived = JSON.parse(JSON.stringify(snapshot));
      const seen = await runInScope(revived, async () => {
        await Promise.resolve();
        return getScope();
      });
      assert.deepEqual(seen, { enabled: true, values: { tenant: 12n, user: ['a', 'b'], org: ALL, n: 5 } });
    });

    it('restores exactly the captured state, not merged with the caller', () => {
      const snapshot = scope({ tenant: 1 }, () => captureScope());
      scope({ tenant: 9, user: 'u' }, () => {
        runInScope(snapshot, () => assert.deepEqual(getScope().values, { tenant: 1 }));
      });
    });

    it('keeps the disabled flag', () => {
      const snapshot = scopesDisabled(() => captureScope());
      runInScope(snapshot, () => assert.equal(getScope().enabled, false));
    });

    it('refuses a job that arrives without a snapshot', () => {
      let ran = false;
      const error = expectScopeError(
        () =>
          runInScope(undefined as never, () => {
            ran = true;
          }),
        'INVALID_SNAPSHOT',
        /enqueued without one.*captureScope\(\)/,
      );
      assert.equal(ran, false);
      assert.equal(error.value, undefined);
    });

    it('refuses malformed snapshots, including ones smuggling null values', () => {
      expectScopeError(() => runInScope({ tenant: 1 } as never, () => 1), 'INVALID_SNAPSHOT');
      expectScopeError(
        () => runInScope({ knexScopes: 1, enabled: 'yes', values: {} } as never, () => 1),
        'INVALID_SNAPSHOT',
      );
      expectScopeError(
        () => runInScope({ knexScopes: 1, enabled: true, values: { tenant: null } } as never, () => 1),
        'INVALID_SCOPE_VALUE',
      );
      expectScopeError(
        () => runInScope({ knexScopes: 1, enabled: true, values: { tenant: { $bigint: 'x' } } } as never, () => 1),
        'INVALID_SNAPSHOT',
      );
    });
  });

  describe('sharing across copies of the package', () => {
    it('keeps the storage on a Symbol.for global', () => {
      const key = Symbol.for('knex-scopes.storage.v1');
      const storage = (globalThis as Record<symbol, { getStore(): unknown }>)[key];
      assert.ok(storage, 'the storage is registered on globalThis');
      scope({ tenant: 5 }, () => {
        assert.deepEqual(storage?.getStore(), { enabled: true, values: { tenant: 5 } });
      });
    });

    it('shares one state between two real copies of the package in one process', () => {
      // a second copy of the built package, as a dedupe miss would install it
      const { cpSync, mkdtempSync, rmSync } = require('node:fs') as typeof import('node:fs');
      const { join } = require('node:path') as typeof import('node:path');
      const dir = mkdtempSync(join(__dirname, '..', 'dist-copy-'));
      try {
        cpSync(join(__dirname, '..', 'dist'), dir, { recursive: true });
        const other = require(join(dir, 'index.js')) as typeof import('@knex-scopes/core');
        assert.notEqual(other.scope, scope, 'a distinct module instance');
        scope({ tenant: 7 }, () => assert.deepEqual(other.getScope().values, { tenant: 7 }));
        other.scope({ tenant: 8 }, () => assert.deepEqual(getScope().values, { tenant: 8 }));
        assert.equal(other.ALL, ALL);
        const foreign = (() => {
          try {
            other.scope({ tenant: null as never }, () => 1);
          } catch (error) {
            return error;
          }
        })();
        assert.ok(isScopeError(foreign, 'INVALID_SCOPE_VALUE'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('recognises ScopeErrors from another copy by brand', () => {
      const foreign = Object.assign(new Error('x'), { code: 'SCOPE_MISSING' });
      Object.defineProperty(foreign, Symbol.for('knex-scopes.ScopeError'), { value: true });
      assert.ok(isScopeError(foreign, 'SCOPE_MISSING'));
      assert.ok(!isScopeError(new Error('plain')));
    });
  });
});
