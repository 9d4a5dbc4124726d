// Test bodies in a scope. A scope covers the function it runs, so the test function itself is
// wrapped: a scope opened in a beforeEach hook would be over before the test starts.
import { bindScope, type ScopedResult, type ScopeValues, wrapInScope } from '@knex-scopes/core';

/**
 * A test function that runs `body` in the scope `values` (overlaid on the current one): keeps
 * `this` (mocha's `this.timeout()`), the arguments (Vitest's context, a `done` callback) and the
 * body's result, so the runner awaits the body's promise. A callback the runner passes (`done`)
 * runs outside the scope: the runner goes on to the next test from it.
 *
 * `it('lists', inScope({ tenant: 1 }, async () => { … }))`
 */
export function inScope<This, A extends unknown[], R>(
  values: ScopeValues,
  body: (this: This, ...args: A) => R,
): (this: This, ...args: A) => ScopedResult<R> {
  // wrapInScope validates the values now, so a bad scope fails where the test is declared.
  const run = wrapInScope(values, (self: This, args: A) => body.apply(self, args));
  const wrapper = function (this: This, ...args: A): ScopedResult<R> {
    return run(this, callbacksOutside(args));
  };
  return mimic(wrapper, body);
}

/**
 * Runners read the test function itself: mocha and Jest pass a `done` callback when it declares
 * a parameter (`length`), Vitest reads its source for the fixtures it destructures (`toString`).
 * The wrapper answers as the body would.
 */
function mimic<F extends object>(wrapper: F, body: (...args: never[]) => unknown): F {
  Object.defineProperty(wrapper, 'length', { value: body.length });
  Object.defineProperty(wrapper, 'name', { value: body.name });
  Object.defineProperty(wrapper, 'toString', { value: () => body.toString() });
  return wrapper;
}

/**
 * Mocha goes on to the next test from inside `done()` (through setImmediate, which inherits the
 * context): called in the scope, it would run every later test in it. So the runner's callbacks
 * run in the context the runner called the test from. A proxy, so that properties still read
 * through (Vitest's context is a function carrying `task`, `expect`, `skip`…).
 */
function callbacksOutside<A extends unknown[]>(args: A): A {
  if (!args.some((arg) => typeof arg === 'function')) return args;
  const outside = bindScope((call: () => unknown) => call());
  return args.map((arg) =>
    typeof arg === 'function'
      ? new Proxy(arg, { apply: (target, self, callArgs) => outside(() => Reflect.apply(target, self, callArgs)) })
      : arg,
  ) as A;
}
