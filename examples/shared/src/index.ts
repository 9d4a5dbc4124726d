// The part the three example apps share: schema, seed, scopes, tenant resolution, the data layer
// (which never names a tenant) and the job queue.
export * from './banner';
export * from './comments';
export * from './context';
export * from './database';
export * from './http-errors';
export type { Body } from './input';
export * from './jobs';
export * from './organization';
export * from './projects';
export * from './schema';
export * from './scopes';
export * from './seed';
export * from './sessions';
export * from './start';
export * from './summary';
export * from './tasks';
export * from './tenants';
export * from './types';
