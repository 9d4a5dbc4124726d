// Compiled by test/adapters/public-types.test.ts: every @ts-expect-error line must be an error
// and every other line must compile. The app declares its tenant type once:
import {
  firstOf,
  fromHeader,
  fromSession,
  fromSubdomain,
  type TenantRequest,
  type TenantResolver,
  tenantResolver,
} from '@knex-scopes/core/http';

export interface Tenant {
  id: number;
  slug: string;
}

declare module '@knex-scopes/core/http' {
  interface TenantTypes {
    tenant: Tenant;
  }
}

export const from = firstOf(fromHeader('x-tenant'), fromSubdomain({ baseDomain: 'example.test' }), fromSession('t'));
export const resolveTenant = tenantResolver({
  from,
  lookup: async (key): Promise<Tenant | undefined> => ({ id: 1, slug: key }),
  cache: { ttl: 60_000, max: 500 },
});
// The tenant type is inferred from an unannotated lookup.
export const inferred: TenantResolver<{ id: number; slug: string }> = tenantResolver({
  from,
  lookup: (key) => (key === 'acme' ? { id: 1, slug: key } : undefined),
});
resolveTenant.evict('acme');
resolveTenant.evict((tenant) => tenant.id === 1);

// A tenant without an id maps itself to scope values.
tenantResolver({
  from,
  lookup: async (key) => ({ org: 7, region: key }),
  scopeValues: (tenant) => ({ tenant: tenant.org, region: tenant.region }),
});
// @ts-expect-error a tenant without an id needs scopeValues
tenantResolver({ from, lookup: () => ({ org: 7 }) });
// @ts-expect-error the lookup is required
tenantResolver({ from });
// @ts-expect-error the key resolver is required
tenantResolver({ lookup: () => ({ id: 1 }) });
// @ts-expect-error fromPath takes a param or a segment
import('@knex-scopes/core/http').then(({ fromPath }) => fromPath({ param: 'a', segment: 1 }));

// A custom resolver reads the neutral request view.
export const custom = (req: TenantRequest) => req.header('x-custom');
