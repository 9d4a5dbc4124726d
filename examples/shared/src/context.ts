// Everything an example app needs, built from one unscoped Knex instance.
import type { TenantResolver } from '@knex-scopes/core/http';
import type { Knex } from 'knex';
import { JobQueue } from './jobs.js';
import { scopes } from './scopes.js';
import { summarizeProject } from './summary.js';
import { organizationResolver } from './tenants.js';
import type { Organization } from './types.js';

export interface ExampleContext {
  /** Unscoped: migrations, seeds, the tenant lookup. Never handed to route code. */
  readonly base: Knex;
  /** Scoped: what every route and job uses. */
  readonly db: Knex;
  readonly resolveTenant: TenantResolver<Organization>;
  readonly jobs: JobQueue;
}

export function createContext(base: Knex, options: { baseDomain?: string } = {}): ExampleContext {
  const db = scopes.wrap(base);
  return {
    base,
    db,
    resolveTenant: organizationResolver(base, options.baseDomain),
    jobs: new JobQueue(db, { 'project-summary': summarizeProject }),
  };
}
