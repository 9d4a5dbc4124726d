// The part the three example apps share: schema, seed, scopes, tenant resolution, the data layer
// (which never names a tenant) and the job queue.
export * from './banner.js';
export * from './comments.js';
export * from './context.js';
export * from './database.js';
export * from './http-errors.js';
export type { Body } from './input.js';
export * from './jobs.js';
export * from './organization.js';
export * from './projects.js';
export * from './schema.js';
export * from './scopes.js';
export * from './seed.js';
export * from './sessions.js';
export * from './start.js';
export * from './summary.js';
export * from './tasks.js';
export * from './tenants.js';
export * from './types.js';
