// How a request names its organization: `acme.localhost:3000/...` first, else `/t/acme/...`.
import { firstOf, fromPath, fromSubdomain, type KeyResolver, tenantResolver } from '@knex-scopes/core/http';
import type { Knex } from 'knex';
import type { Organization } from './types.js';

const secondSegment = fromPath({ segment: 1 });

/** `/t/acme/api/projects` names acme; any other path names no tenant. */
export const fromTenantPath: KeyResolver = (req) => (req.path.startsWith('/t/') ? secondSegment(req) : undefined);

/**
 * The resolver every adapter takes. The lookup reads `organizations` with the UNSCOPED instance:
 * no scope exists yet while the tenant is being found.
 */
export function organizationResolver(base: Knex, baseDomain = 'localhost') {
  return tenantResolver({
    from: firstOf(fromSubdomain({ baseDomain }), fromTenantPath),
    lookup: (slug) => base<Organization>('organizations').where({ slug }).first(),
    cache: { ttl: 60_000 },
  });
}
