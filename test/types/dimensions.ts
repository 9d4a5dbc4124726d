// Compiled by `npm run test:types` (tsc --noEmit): every @ts-expect-error line must be an error,
// and every other line must compile. An app declares its dimensions once:
import {
  ALL,
  captureScope,
  runInScope,
  type ScopedResult,
  type ScopeState,
  scope,
  scopesDisabled,
  wrapInScope,
} from '@knex-scopes/core';

declare module '@knex-scopes/core' {
  interface ScopeDimensions {
    tenant: number;
    user: string;
  }
}

scope({ tenant: 1 }, () => undefined);
scope({ tenant: [1, 2], user: 'u' }, () => undefined);
scope({ tenant: ALL }, () => undefined);
scope({}, () => undefined);

// @ts-expect-error a misspelt dimension is a compile error
scope({ tenat: 1 }, () => undefined);
// @ts-expect-error the tenant key is a number in this app
scope({ tenant: 'acme' }, () => undefined);
// @ts-expect-error null never means "all"
scope({ tenant: null }, () => undefined);
// @ts-expect-error pass the key, not the row
scope({ tenant: { id: 1 } }, () => undefined);
// @ts-expect-error nested arrays are not scope values
scope({ tenant: [[1]] }, () => undefined);
// @ts-expect-error a wrapper validates its dimensions too
wrapInScope({ usr: 'x' }, () => undefined);

// Results: sync stays sync, promises stay promises, lazy thenables become promises.
const n: number = scope({ tenant: 1 }, () => 1);
const p: Promise<string> = scope({ tenant: 1 }, async () => 'x');
declare const lazy: PromiseLike<string[]>;
const l: Promise<string[]> = scopesDisabled(() => lazy);
type Lazy = ScopedResult<PromiseLike<number>>;
const lz: Lazy = Promise.resolve(1);
const s: ScopeState = runInScope(captureScope(), () => ({ enabled: true, values: {} }));
void [n, p, l, lz, s];
