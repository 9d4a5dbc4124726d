// What the soak sends and how each answer is judged: a 200 must hold exactly its own tenant's
// data, anything else must be an error status; an answer with another tenant's row is a leak.

import { STREAM_CHUNKS } from '../adapters/support/handlers';
import type { Call, Reply } from '../adapters/support/http-client';
import { PAGES_PER_TENANT, slugOf, TENANT_COUNT } from '../adapters/support/schema';

export type Kind = 'header' | 'subdomain' | 'path' | 'post' | 'stream' | 'public' | 'unknown';

export interface Planned {
  readonly kind: Kind;
  /** 0 for requests without a tenant. */
  readonly tenant: number;
  readonly call: Call;
  /** Abort this long after the first response byte (the client walks away). */
  readonly abortAfterMs?: number;
}

export function plan(i: number, abortRate: number): Planned {
  const tenant = 1 + (i % TENANT_COUNT);
  const slug = slugOf(tenant);
  const roll = Math.random();
  const header = { 'x-tenant': slug };
  const abort = Math.random() < abortRate ? { abortAfterMs: Math.floor(Math.random() * 6) } : {};
  if (roll < 0.3) return { kind: 'header', tenant, call: { path: '/pages', headers: header }, ...abort };
  if (roll < 0.45)
    return { kind: 'subdomain', tenant, call: { path: '/pages', headers: { host: `${slug}.example.test` } }, ...abort };
  if (roll < 0.6) return { kind: 'path', tenant, call: { path: `/t/${slug}/pages` }, ...abort };
  if (roll < 0.75) {
    const call: Call = { method: 'POST', path: '/pages', headers: header, json: { title: `soak ${slug}` } };
    return { kind: 'post', tenant, call, ...abort };
  }
  if (roll < 0.87) return { kind: 'stream', tenant, call: { path: '/stream', headers: header }, ...abort };
  if (roll < 0.94) return { kind: 'public', tenant: 0, call: { path: '/public/health', headers: header }, ...abort };
  return { kind: 'unknown', tenant: 0, call: { path: '/pages', headers: { 'x-tenant': `ghost${i % 7}` } }, ...abort };
}

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: number; readonly code: string }
  | { readonly wrong: string; readonly leak: boolean };

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The code an error answer names: a ScopeError or driver code, or what the message says. */
export function errorCode(reply: Reply): string {
  const body = parse(reply.text);
  if (!body) return 'NO_JSON';
  if (typeof body.code === 'string') return body.code;
  if (typeof body.error === 'string' && /^[A-Z_]+$/.test(body.error)) return body.error;
  const message = String(body.error ?? '');
  if (/timeout acquiring a connection/i.test(message)) return 'POOL_TIMEOUT';
  if (/connection terminated|terminating connection|not queryable|connection.*(closed|ended)/i.test(message))
    return 'CONNECTION_LOST';
  if (/injected fault: (\w+)/.test(message)) return /injected fault: (\w+)/.exec(message)![1]!;
  return `OTHER: ${message.slice(0, 80)}`;
}

type Row = { tenant_id: number };

export function judge(p: Planned, reply: Reply): Verdict {
  if (reply.headers['x-pre-scope'] !== '{}') {
    return { wrong: `a scope before the adapter: ${String(reply.headers['x-pre-scope'])}`, leak: true };
  }
  if (reply.status >= 400 && reply.status <= 599) {
    if (p.kind === 'unknown' || reply.status >= 500) return { ok: false, status: reply.status, code: errorCode(reply) };
    return { wrong: `status ${reply.status} (${errorCode(reply)})`, leak: false };
  }
  if (reply.status !== 200) return { wrong: `status ${reply.status}`, leak: false };
  if (p.kind === 'unknown') return { wrong: 'an unknown tenant answered 200', leak: true };
  if (p.kind === 'stream') {
    const lines = reply.text.trim().split('\n');
    const tenants = new Set(lines.map((line) => line.split(' ')[0]));
    if (tenants.size !== 1 || !tenants.has(String(p.tenant))) return { wrong: `stream of ${[...tenants]}`, leak: true };
    return lines.length === STREAM_CHUNKS ? { ok: true } : { wrong: `${lines.length} stream chunks`, leak: false };
  }
  const body = parse(reply.text);
  if (!body) return { wrong: `a 200 that is not JSON: ${reply.text.slice(0, 100)}`, leak: false };
  if (p.kind === 'public') {
    // an exempt route: its scoped query must be refused, never run
    if (Object.keys(body.scope ?? {}).length > 0 || body.query === 'ran') {
      return { wrong: `public route: ${JSON.stringify(body).slice(0, 200)}`, leak: true };
    }
    if (body.query === 'SCOPE_MISSING') return { ok: true };
    // Knex compiles (and so refuses) only once it holds a connection: a full pool times out first
    const timedOut = /timeout acquiring a connection/i.test(String(body.query));
    return timedOut
      ? { ok: false, status: 200, code: 'EXEMPT_ROUTE_POOL_TIMEOUT' }
      : { wrong: `public route: ${JSON.stringify(body).slice(0, 200)}`, leak: false };
  }
  const scopes = [body.scope, ...((body.seen as unknown[]) ?? []), ...Object.values(body.stages ?? {})] as Array<{
    tenant?: number;
  }>;
  if (!scopes.every((s) => s.tenant === p.tenant && Object.keys(s).length === 1)) {
    return { wrong: `scopes ${JSON.stringify(scopes)}`, leak: true };
  }
  if (p.kind === 'post') {
    const page = body.page as Row | undefined;
    return page?.tenant_id === p.tenant ? { ok: true } : { wrong: `inserted for ${page?.tenant_id}`, leak: true };
  }
  const pages = (body.pages ?? []) as Row[];
  const rows = [...pages, ...((body.comments ?? []) as Row[])];
  const foreign = rows.filter((row) => row.tenant_id !== p.tenant);
  if (foreign.length > 0)
    return { wrong: `rows of tenants ${[...new Set(foreign.map((r) => r.tenant_id))]}`, leak: true };
  if (pages.length < PAGES_PER_TENANT) return { wrong: `${pages.length} pages, a partial answer`, leak: false };
  return { ok: true };
}
