// Violations, refusals and bypasses, published on diagnostics_channel and to an optional callback.
import diagnostics_channel from 'node:diagnostics_channel';
import { join, sep } from 'node:path';
import type { ScopeErrorCode } from './errors';

/** The channel names, stable API: subscribe with `diagnostics_channel.subscribe(name, fn)`. */
export const CHANNELS = Object.freeze({
  /** report mode: a query that enforce mode would refuse ran unchanged. */
  violation: 'knex-scopes:violation',
  /** enforce mode: a query was refused with a ScopeError. */
  refusal: 'knex-scopes:refusal',
  /** protection was lifted for a scoped table: scopesDisabled, ALL, withScopesDisabled, trustRaw. */
  bypass: 'knex-scopes:bypass',
});

export type BypassReason = 'scopes-disabled' | 'all' | 'trusted-raw';

export interface ScopeEvent {
  readonly kind: 'violation' | 'refusal' | 'bypass';
  /** The refusal's (or would-be refusal's) error code. */
  readonly code?: ScopeErrorCode;
  readonly reason?: BypassReason;
  readonly tables: readonly string[];
  readonly dimensions: readonly string[];
  readonly message?: string;
  /** The SQL that ran (violation, bypass) or would have run unfiltered (refusal), when known. */
  readonly sql?: string;
  readonly stack: string;
  /**
   * The app's line that built the query (`/app/src/routes.ts:42:7`): the first frame of the
   * stack outside knex-scopes, Knex, Objection and Node itself, when there is one.
   */
  readonly callSite?: string;
}

const channels = {
  violation: diagnostics_channel.channel(CHANNELS.violation),
  refusal: diagnostics_channel.channel(CHANNELS.refusal),
  bypass: diagnostics_channel.channel(CHANNELS.bypass),
};

export type EventSink = (event: ScopeEvent) => void;

/** True when someone listens for this kind of event, so callers can skip building it. */
export function wantsEvent(kind: ScopeEvent['kind'], sink: EventSink | undefined): boolean {
  return sink !== undefined || channels[kind].hasSubscribers;
}

/** True when any kind of event has a listener: only then is a builder's origin captured. */
export function wantsAnyEvent(sink: EventSink | undefined): boolean {
  return (
    sink !== undefined ||
    channels.violation.hasSubscribers ||
    channels.refusal.hasSubscribers ||
    channels.bypass.hasSubscribers
  );
}

const ORIGIN_DEPTH = 60;

/**
 * The stack where a builder is created, still in the app's synchronous frame (`await db(…)`
 * runs the compile from a microtask, where no app frame is left). Deep enough to get past the
 * ORM's frames; formatted only when an event reads it.
 */
export function captureOrigin(): { stack?: string } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = ORIGIN_DEPTH;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureOrigin);
  Error.stackTraceLimit = limit;
  return holder;
}

// Frames that are not the app's: this package's code (src or dist), dependencies, Node's own.
const OWN_ROOT = join(__dirname, '..');
const OWN_CODE = [join(OWN_ROOT, 'src', sep), join(OWN_ROOT, 'dist', sep)];
const LIBRARY_FRAME = /node_modules[\\/]|\(node:|^\s*at node:|\(internal\/|\(<anonymous>\)/;

/** The first frame of `stack` in the app's own code, as `file:line:column`. */
export function callSiteOf(stack: string): string | undefined {
  for (const line of stack.split('\n')) {
    if (!/^\s*at /.test(line) || LIBRARY_FRAME.test(line) || OWN_CODE.some((dir) => line.includes(dir))) continue;
    const location = /\(([^()]+:\d+:\d+)\)\s*$/.exec(line) ?? /at (\S+:\d+:\d+)\s*$/.exec(line);
    if (location) return location[1];
  }
  return undefined;
}

export function captureStack(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureStack);
  return (holder.stack ?? '').replace(/^Error\n/, '');
}

export function publish(event: ScopeEvent, sink: EventSink | undefined): void {
  const channel = channels[event.kind];
  if (channel.hasSubscribers) channel.publish(event);
  if (sink) {
    try {
      sink(event);
    } catch {
      // An observer must never change the outcome of a query.
    }
  }
}
