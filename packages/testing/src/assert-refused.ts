// "This code path refuses without a scope": runs fn with no scope at all and checks the refusal.
import { AssertionError } from 'node:assert';
import { isScopeError, runWithState, type ScopeError, type ScopeErrorCode, type ScopeState } from '@knex-scopes/core';
import { runExpectingRefusal } from './expected-refusals';

// What a process starts in: enforcement on, no values. Not what the calling test runs in.
const NO_SCOPE: ScopeState = Object.freeze({ enabled: true, values: Object.freeze({}) });

/**
 * Runs `fn` with no scope in force (even inside a scoped test or a `scopesDisabled()` block) and
 * resolves to the ScopeError it throws or rejects with, which must have `code`; otherwise
 * rejects with an AssertionError. A lazy result (a Knex builder, an Objection query) is run.
 * Refusals it causes are not reported by `recordRefusals()`. `fn` may open scopes of its own, to
 * assert e.g. `CROSS_SCOPE_WRITE`.
 *
 * `const error = await assertRefused(() => listProjects());`
 */
export async function assertRefused(fn: () => unknown, code: ScopeErrorCode = 'SCOPE_MISSING'): Promise<ScopeError> {
  let outcome: unknown;
  try {
    outcome = await runExpectingRefusal(() => runWithState(NO_SCOPE, fn));
  } catch (error) {
    if (isScopeError(error, code)) return error;
    throw new AssertionError({
      message: `expected a ScopeError ${code}, got ${describe(error)}`,
      actual: error,
      expected: code,
      operator: 'assertRefused',
    });
  }
  throw new AssertionError({
    message: `expected a ScopeError ${code}, but it ran and returned ${describe(outcome)}`,
    actual: outcome,
    expected: code,
    operator: 'assertRefused',
  });
}

function describe(value: unknown): string {
  if (isScopeError(value)) return `ScopeError ${value.code}: ${value.message}`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
