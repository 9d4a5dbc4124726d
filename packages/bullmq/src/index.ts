// @knex-scopes/bullmq: BullMQ jobs that carry the scope of whoever queued them, and processors
// that run in it or refuse the job.
export { type FlowNode, scopedFlow } from './flow';
export { scopedJobData } from './job-data';
export { type JobLike, type JobScopeRefusal, scopedProcessor } from './processor';
export { type QueueLike, type ScopedQueue, scopedQueue, type UnscopedData } from './queue';
export { readJobScope, SCOPE_KEY, type ScopedJobData, type ScopeKeyName } from './snapshot';
