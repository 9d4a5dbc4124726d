// The escape hatch for one raw statement or fragment: trustRaw(raw) vouches for its text and
// for the raws in its bindings. Greppable on purpose; every use is published as a bypass event.
import { isRaw, type RawLike } from '../knex-internals';

const TRUSTED: unique symbol = Symbol.for('knex-scopes.trustedRaw');

/**
 * Marks one raw value as vouched for: it is not read for scoped table names, and runs as written,
 * without a filter. Builders bound into it are still filtered when they compile.
 */
export function trustRaw<R extends object>(raw: R): R {
  if (!isRaw(raw)) throw new TypeError('trustRaw() takes a knex.raw(…) value');
  Object.defineProperty(raw, TRUSTED, { value: true, enumerable: false });
  return raw;
}

export function isTrustedRaw(raw: RawLike): boolean {
  return (raw as unknown as Record<symbol, unknown>)[TRUSTED] === true;
}
