// Violations, refusals and bypasses, published on diagnostics_channel and to an optional callback.
import diagnostics_channel from 'node:diagnostics_channel';
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
