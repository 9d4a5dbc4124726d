// What the routes of every test app do, written once: each framework's app only wires these
// into its own routing, so the conformance suite compares like with like.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { getScope, isScopeError } from '@knex-scopes/core';
import type { Knex } from 'knex';
import type { Tenant } from './schema';

/** The scope values in force, as JSON (the tests use plain keys only). */
export type ScopeJson = Record<string, unknown>;

export function scopeNow(): ScopeJson {
  return { ...getScope().values };
}

export function slug(tenant: unknown): string | null {
  return tenant ? (tenant as Tenant).slug : null;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A small random delay, switching between timers, immediates and microtasks. */
export async function jitter(): Promise<void> {
  const pick = Math.random();
  if (pick < 0.4) await sleep(Math.floor(Math.random() * 4));
  else if (pick < 0.7) await new Promise<void>((resolve) => setImmediate(resolve));
  else await Promise.all([sleep(1), Promise.resolve().then(() => undefined)]);
}

export interface PagesReport {
  readonly pages: { id: number; tenant_id: number; title: string }[];
  /** Each comment with the tenant of its page, read through a join of two scoped tables. */
  readonly comments: { id: number; tenant_id: number }[];
  /** The scope seen after each await of the handler. */
  readonly seen: ScopeJson[];
}

export async function pagesOf(db: Knex): Promise<PagesReport> {
  const seen: ScopeJson[] = [];
  await jitter();
  seen.push(scopeNow());
  const pages = await db('pages').select('id', 'tenant_id', 'title').orderBy('id');
  seen.push(scopeNow());
  await jitter();
  const comments = await db('comments')
    .join('pages', 'pages.id', 'comments.page_id')
    .select('comments.id', 'pages.tenant_id')
    .orderBy('comments.id');
  seen.push(scopeNow());
  const numeric = <T extends Record<string, unknown>>(row: T) => ({
    ...row,
    id: Number(row.id),
    tenant_id: Number(row.tenant_id),
  });
  return { pages: pages.map(numeric), comments: comments.map(numeric), seen } as PagesReport;
}

/** Inserts a page without a tenant column (the scope stamps it) and reads it back. */
export async function createPage(db: Knex, title: unknown): Promise<{ tenant_id: number; title: string }> {
  const unique = `${String(title).slice(0, 60)} ${randomUUID()}`;
  await jitter();
  await db('pages').insert({ title: unique });
  const row = (await db('pages').where({ title: unique }).first()) as { tenant_id: number; title: string };
  return { tenant_id: Number(row.tenant_id), title: row.title };
}

/** Runs a scoped query and reports whether it ran or the ScopeError code that refused it. */
export async function tryScopedQuery(db: Knex): Promise<string> {
  try {
    await db('pages').count({ n: '*' });
    return 'ran';
  } catch (error) {
    return isScopeError(error) ? error.code : `error: ${(error as Error).message}`;
  }
}

export const STREAM_CHUNKS = 40;

/** A streamed body whose every chunk says which tenant was in scope when it was produced. */
export function scopedStream(): Readable {
  return Readable.from(
    (async function* chunks() {
      for (let i = 0; i < STREAM_CHUNKS; i++) {
        await jitter();
        yield `${String(getScope().values.tenant ?? 'none')} ${'.'.repeat(2000)}\n`;
      }
    })(),
  );
}

/** The size of a parsed body, whatever the parser made of it. */
export function bodySize(body: unknown): number {
  if (typeof body === 'string') return body.length;
  if (body && typeof body === 'object') return JSON.stringify(body).length;
  return 0;
}

/** Status of an error for the apps' error handlers (parsers set 400/413). */
export function statusOf(error: unknown): number {
  const e = error as { status?: number; statusCode?: number };
  return e.status ?? e.statusCode ?? 500;
}

export function errorBody(error: unknown, tenant: unknown, where: string) {
  const e = error as { message?: string; code?: string };
  return { error: e.message, code: e.code ?? null, scope: scopeNow(), tenant: slug(tenant), where };
}

/** Paths every app exempts through its predicate (Fastify also exempts /signup by route config). */
export function isExemptPath(path: string): boolean {
  return path.startsWith('/public/');
}

/** The session field the session apps log in with. */
export const SESSION_FIELD = 'tenantSlug';

/** A shared log of the scope response-lifecycle callbacks saw, by request id. */
export type LifecycleLog = Map<string, ScopeJson>;
