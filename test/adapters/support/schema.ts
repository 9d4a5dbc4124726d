// The pages/comments schema every adapter test runs on, its tenants, and the tenant resolver
// the apps share: one definition for the three frameworks.
import { defineScopes } from '@knex-scopes/core';
import {
  firstOf,
  fromHeader,
  fromPath,
  fromSubdomain,
  type KeyResolver,
  type TenantResolver,
  tenantResolver,
} from '@knex-scopes/core/http';
import type { Knex } from 'knex';

export interface Tenant {
  readonly id: number;
  readonly slug: string;
}

export const TENANT_COUNT = 50;
/** A tenant whose slug is a punycode label (café). */
export const PUNYCODE_TENANT: Tenant = { id: 51, slug: 'xn--caf-dma' };
export const BASE_DOMAIN = 'example.test';
export const PAGES_PER_TENANT = 2;

export function slugOf(id: number): string {
  if (id === 1) return 'acme';
  if (id === 2) return 'beta';
  return `t${String(id).padStart(2, '0')}`;
}

export const TENANTS: readonly Tenant[] = [
  ...Array.from({ length: TENANT_COUNT }, (_, i) => ({ id: i + 1, slug: slugOf(i + 1) })),
  PUNYCODE_TENANT,
];

export const scopes = defineScopes({
  tables: {
    pages: { tenant: 'tenant_id' },
    comments: { tenant: 'page_id -> pages.tenant_id' },
  },
});

/** Creates and fills the tables with the unscoped instance; returns nothing scoped. */
export async function createSchema(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('comments');
  await knex.schema.dropTableIfExists('pages');
  await knex.schema.dropTableIfExists('tenants');
  await knex.schema.createTable('tenants', (t) => {
    t.integer('id').primary();
    t.string('slug', 63).notNullable().unique();
  });
  await knex.schema.createTable('pages', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable().references('tenants.id');
    t.string('title', 200).notNullable();
  });
  await knex.schema.createTable('comments', (t) => {
    t.increments('id');
    t.integer('page_id').unsigned().notNullable().references('pages.id');
    t.string('body', 200).notNullable();
  });
  await knex('tenants').insert(TENANTS.map((t) => ({ id: t.id, slug: t.slug })));
  const pages = TENANTS.flatMap((t) =>
    Array.from({ length: PAGES_PER_TENANT }, (_, i) => ({ tenant_id: t.id, title: `${t.slug} page ${i}` })),
  );
  await knex('pages').insert(pages);
  const ids = (await knex('pages').select('id').orderBy('id')) as { id: number }[];
  await knex('comments').insert(ids.map(({ id }) => ({ page_id: id, body: `comment on ${id}` })));
}

/** Counts what reached the lookup and the scoped tables, to prove what did not. */
export interface Probe {
  readonly lookups: string[];
  readonly scopedQueries: string[];
  reset(): void;
}

export function probeOn(db: Knex): Probe {
  const probe: Probe = {
    lookups: [],
    scopedQueries: [],
    reset() {
      probe.lookups.length = 0;
      probe.scopedQueries.length = 0;
    },
  };
  db.on('query', (query: { sql: string }) => {
    if (/\b(pages|comments)\b/.test(query.sql)) probe.scopedQueries.push(query.sql);
  });
  return probe;
}

/** `/t/<slug>/…` paths carry the tenant in their second segment. */
const underT = fromPath({ segment: 1 });
const fromTPath: KeyResolver = (req) => (req.path.startsWith('/t/') ? underT(req) : undefined);

export const DEFAULT_FROM: KeyResolver = firstOf(
  fromTPath,
  fromHeader('x-tenant'),
  fromSubdomain({ baseDomain: BASE_DOMAIN }),
);

/** The resolver of the test apps: tenants by slug from the unscoped instance. */
export function makeResolver(
  knex: Knex,
  probe: Probe,
  from: KeyResolver = DEFAULT_FROM,
  cache = false,
): TenantResolver<Tenant> {
  return tenantResolver({
    from,
    cache,
    lookup: async (key: string) => {
      probe.lookups.push(key);
      if (key === 'explode') throw new Error('tenant lookup failed');
      const row = (await knex('tenants').where({ slug: key }).first()) as Tenant | undefined;
      return row === undefined ? undefined : { id: Number(row.id), slug: row.slug };
    },
  });
}
