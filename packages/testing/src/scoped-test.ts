// A runner's own `it`/`test`, with every test it declares run in a scope: one line per file or
// per describe block instead of one inScope() per test.
import { type ScopeValues, wrapInScope } from '@knex-scopes/core';
import { inScope } from './in-scope';

type Callable = (...args: never[]) => unknown;
type Body = (...args: unknown[]) => unknown;

/**
 * `const it = scopedTest(globalThis.it, { tenant: 1 })` (mocha, Jest) or
 * `const test = scopedTest(vitestTest, { tenant: 1 })`: the same API, whose test bodies run in
 * the scope. Its members are wrapped the same way (`.only`, `.skip`, `.each(table)`,
 * `.concurrent`, Vitest's `.extend(fixtures)`…), so whatever the runner's types allow works.
 */
export function scopedTest<T extends Callable>(test: T, values: ScopeValues): T {
  // Validated now, so a bad scope fails where the file is loaded rather than in every test.
  wrapInScope(values, () => undefined);
  return wrapApi(test, undefined, values);
}

function wrapApi<T extends Callable>(api: T, owner: object | undefined, values: ScopeValues): T {
  return new Proxy(api, {
    // A runner takes a function only as the test body: test(title, body), test(title, options,
    // body), test(title, body, timeout). A call without one (`.each(table)`, `.skipIf(cond)`,
    // `.extend(fixtures)`) returns another declaring function: wrapped in turn.
    apply(target, thisArg, args: unknown[]) {
      const declares = args.some((arg) => typeof arg === 'function');
      const wrapped = args.map((arg) => (typeof arg === 'function' ? inScope(values, arg as Body) : arg));
      const result: unknown = Reflect.apply(target, owner ?? thisArg, wrapped);
      return !declares && typeof result === 'function' ? wrapApi(result as Callable, undefined, values) : result;
    },
    get(target, property) {
      // Read on the runner's own object (Vitest's chain modifiers are getters).
      const member: unknown = Reflect.get(target, property);
      if (typeof member !== 'function' || property === 'toString' || property === 'bind') return member;
      return wrapApi(member as Callable, target, values);
    },
  });
}
