// Every refusal (and report-mode violation) during a test, from diagnostics_channel: a refusal
// the app caught and turned into a 500, or swallowed, still fails the test.
import { AssertionError } from 'node:assert';
import diagnostics_channel from 'node:diagnostics_channel';
import { CHANNELS, type ScopeEvent } from '@knex-scopes/core';
import { refusalExpected } from './expected-refusals';

export interface RefusalRecorder {
  /** The events recorded since the last take() or assertNone(), which are forgotten. */
  take(): ScopeEvent[];
  /**
   * Throws an AssertionError listing the recorded events (code, tables, the app's line), if
   * any; forgets them either way, so one failing test does not fail the next.
   */
  assertNone(message?: string): void;
  /** Unsubscribes; the recorder records nothing more. */
  stop(): void;
}

export interface RefusalRecorderOptions {
  /**
   * Which events to record: `refusal` (enforce mode) and `violation` (report mode: a query
   * enforce mode would have refused ran unchanged). Default both.
   */
  readonly kinds?: readonly ('refusal' | 'violation')[];
}

/**
 * Subscribes now and records refusals and violations: call `assertNone()` in the runner's
 * afterEach (any runner), `take()` in a test that provokes one on purpose. Refusals that
 * `assertRefused()` provoked are not recorded.
 */
export function recordRefusals(options: RefusalRecorderOptions = {}): RefusalRecorder {
  const events: ScopeEvent[] = [];
  const listener = (message: unknown) => {
    if (!refusalExpected()) events.push(message as ScopeEvent);
  };
  const names = (options.kinds ?? ['refusal', 'violation']).map((kind) => CHANNELS[kind]);
  for (const name of names) diagnostics_channel.subscribe(name, listener);
  return {
    take: () => events.splice(0),
    assertNone(message = 'queries were refused during this test') {
      const taken = events.splice(0);
      if (taken.length === 0) return;
      const lines = taken.map(
        (event) =>
          `  ${event.code ?? event.kind} on ${event.tables.join(', ')}${event.callSite ? ` at ${event.callSite}` : ''}`,
      );
      throw new AssertionError({ message: `${message}:\n${lines.join('\n')}`, actual: taken, expected: [] });
    },
    stop() {
      for (const name of names) diagnostics_channel.unsubscribe(name, listener);
    },
  };
}
