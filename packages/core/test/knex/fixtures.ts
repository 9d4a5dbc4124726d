// The pages/comments schema every scoped-Knex suite runs on, seeded with three tenants.
import assert from 'node:assert/strict';
import { defineScopes, type ScopeError, type Scopes, scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import type { TestDb } from '../../../../test/support/databases';

export const TABLES = {
  tenants: { tenant: 'id' },
  pages: { tenant: 'tenant_id' },
  comments: { tenant: 'page_id -> pages.tenant_id' },
  replies: { tenant: 'comment_id -> comments.page_id -> pages.tenant_id' },
  bookmarks: { tenant: 'page_id -> pages.tenant_id', user: 'user_id' },
  page_tags: { tenant: 'page_id -> pages.tenant_id' },
} as const;

export function makeScopes(options: Partial<Parameters<typeof defineScopes>[0]> = {}): Scopes {
  return defineScopes({ tables: TABLES, ...options });
}

/** Tenant 1 owns pages 1, 2; tenant 2 owns page 3; tenant 3 owns page 4. */
export async function createSchema(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.integer('id').primary();
    t.string('name', 50).notNullable();
  });
  await knex.schema.createTable('pages', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable().references('tenants.id');
    t.string('title', 50).notNullable();
    t.integer('views').notNullable().defaultTo(0);
  });
  await knex.schema.createTable('comments', (t) => {
    t.increments('id');
    t.integer('page_id').unsigned().nullable().references('pages.id');
    t.string('body', 50).notNullable();
  });
  await knex.schema.createTable('replies', (t) => {
    t.increments('id');
    t.integer('comment_id').unsigned().notNullable().references('comments.id');
    t.string('body', 50).notNullable();
  });
  await knex.schema.createTable('bookmarks', (t) => {
    t.increments('id');
    t.integer('page_id').unsigned().notNullable().references('pages.id');
    t.string('user_id', 20).notNullable();
  });
  await knex.schema.createTable('tags', (t) => {
    t.integer('id').primary();
    t.string('name', 20).notNullable();
  });
  await knex.schema.createTable('page_tags', (t) => {
    t.integer('page_id').unsigned().notNullable().references('pages.id');
    t.integer('tag_id').notNullable().references('tags.id');
  });
}

export async function seed(knex: Knex): Promise<void> {
  await knex('tenants').insert([
    { id: 1, name: 'acme' },
    { id: 2, name: 'globex' },
    { id: 3, name: 'initech' },
  ]);
  await knex('pages').insert([
    { id: 1, tenant_id: 1, title: 'p1-t1' },
    { id: 2, tenant_id: 1, title: 'p2-t1' },
    { id: 3, tenant_id: 2, title: 'p3-t2' },
    { id: 4, tenant_id: 3, title: 'p4-t3' },
  ]);
  await knex('comments').insert([
    { id: 1, page_id: 1, body: 'c1-t1' },
    { id: 2, page_id: 2, body: 'c2-t1' },
    { id: 3, page_id: 3, body: 'c3-t2' },
    { id: 4, page_id: 4, body: 'c4-t3' },
  ]);
  await knex('replies').insert([
    { id: 1, comment_id: 1, body: 'r1-t1' },
    { id: 2, comment_id: 3, body: 'r2-t2' },
  ]);
  await knex('bookmarks').insert([
    { id: 1, page_id: 1, user_id: 'u1' },
    { id: 2, page_id: 1, user_id: 'u2' },
    { id: 3, page_id: 3, user_id: 'u1' },
  ]);
  await knex('tags').insert([
    { id: 1, name: 'news' },
    { id: 2, name: 'misc' },
  ]);
  await knex('page_tags').insert([
    { page_id: 1, tag_id: 1 },
    { page_id: 3, tag_id: 1 },
    { page_id: 2, tag_id: 2 },
  ]);
  if (knex.client.config.client === 'pg') {
    for (const table of ['pages', 'comments', 'replies', 'bookmarks']) {
      await knex.raw(`select setval(pg_get_serial_sequence('${table}', 'id'), 100)`);
    }
  }
}

/** Values of one column, sorted, as strings (drivers differ on number/string types). */
export function col(rows: ReadonlyArray<object>, name: string): string[] {
  return rows.map((r) => String((r as Record<string, unknown>)[name])).sort();
}

/** SQL with identifier quotes removed, so one assertion fits every dialect. */
export function plain(sql: string): string {
  return sql.replace(/[`"]/g, '');
}

/** Records every SQL statement a Knex instance sends to its database. */
export function recordQueries(knex: Knex): { sql: string[]; stop(): void } {
  const sql: string[] = [];
  const listener = (q: { sql: string }) => sql.push(q.sql);
  knex.on('query', listener);
  return { sql, stop: () => knex.off('query', listener) };
}

export async function expectScopeError(
  promise: PromiseLike<unknown> | (() => unknown),
  code: ScopeError['code'],
  message?: RegExp,
): Promise<ScopeError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    assert.equal((error as ScopeError).name, 'ScopeError', `expected ScopeError, got ${String(error)}`);
    assert.equal((error as ScopeError).code, code, (error as Error).message);
    if (message) assert.match((error as Error).message, message);
    return error as ScopeError;
  }
  assert.fail(`expected ScopeError ${code}, but it succeeded`);
}

const ALL_TABLES = ['page_tags', 'tags', 'bookmarks', 'replies', 'comments', 'pages', 'tenants'];

/**
 * Registers the hooks that give a suite the seeded schema: once for the suite, or afresh before
 * each test (for suites that write). `ready` receives the unscoped base and the wrapped instance.
 */
export function useSeededDatabase(tdb: TestDb, when: 'once' | 'each', ready: (base: Knex, db: Knex) => void): void {
  (when === 'once' ? before : beforeEach)(async () => {
    const base = tdb.knex();
    if (when === 'each') for (const t of ALL_TABLES) await base.schema.dropTableIfExists(t);
    await createSchema(base);
    await seed(base);
    ready(base, makeScopes().wrap(base));
  });
}

/** Runs `fn` as tenant 1, the tenant most tests speak for. */
export const asTenant1 = <T>(fn: () => T) => scope({ tenant: 1 }, fn);

/**
 * Every string value of every row that names a tenant (`p3-t2`, `r2-t2`, …) names tenant 1; rows
 * nested in a value (Objection's graphs) are read too.
 */
export function assertTenant1Only(rows: unknown): void {
  const list = (Array.isArray(rows) ? rows : [rows]) as unknown[];
  for (const row of list) {
    const values = typeof row === 'object' && row !== null ? Object.values(row) : [row];
    for (const v of values) {
      if (typeof v === 'string' && /-t\d$/.test(v)) {
        assert.match(v, /-t1$/, `a row of another tenant leaked: ${JSON.stringify(row)}`);
      }
      if (Array.isArray(v)) assertTenant1Only(v);
    }
  }
}
