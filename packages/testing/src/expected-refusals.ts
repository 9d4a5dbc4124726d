// Marks the code an assertRefused() runs, so that the refusal recorder can tell the refusals a
// test asked for from the ones it did not. A storage of this package's own: the scope state is
// core's, and fn may open scopes of its own.
import { AsyncLocalStorage } from 'node:async_hooks';

const STORAGE_KEY = Symbol.for('knex-scopes.testing.expected-refusals.v1');
type Holder = { [STORAGE_KEY]?: AsyncLocalStorage<true> };
const holder = globalThis as Holder;
// Shared by every copy of the package in the process, as core shares its scope storage.
const storage: AsyncLocalStorage<true> = holder[STORAGE_KEY] ?? new AsyncLocalStorage<true>();
holder[STORAGE_KEY] = storage;

export function runExpectingRefusal<T>(fn: () => T): T {
  return storage.run(true, fn);
}

/** True while code started by assertRefused() runs. */
export function refusalExpected(): boolean {
  return storage.getStore() === true;
}
