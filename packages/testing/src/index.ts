// @knex-scopes/testing: test helpers for apps on knex-scopes, for mocha, Vitest and Jest alike
// (no runner is imported: hooks and test functions are passed in).
export { assertRefused } from './assert-refused';
export { inScope } from './in-scope';
export type { KnexSwitch } from './knex-switch';
export { knexSwitch } from './knex-switch';
export type { Lifted } from './lifted';
export { lifted } from './lifted';
export type { RefusalRecorder, RefusalRecorderOptions } from './refusal-recorder';
export { recordRefusals } from './refusal-recorder';
export { scopedTest } from './scoped-test';
export type { EachHooks, TestTransaction, TransactionTarget } from './transaction-per-test';
export { transactionPerTest } from './transaction-per-test';
