export type { Scopes, ScopesOptions } from './define-scopes';
export { defineScopes } from './define-scopes';
export type { BypassReason, ScopeEvent } from './diagnostics';
export { CHANNELS } from './diagnostics';
export type { ScopeErrorCode, ScopeErrorDetails } from './errors';
export { isScopeError, SCOPE_ERROR_STATUS, ScopeError } from './errors';
export type { Mode } from './knex/compile-run';
export { trustRaw } from './knex/raw/trust';
export { isSupportedKnexVersion, SUPPORTED_KNEX_RANGE } from './knex/version-guard';
export type { RlsMigration } from './rls/rls-migration';
export type { RlsConfig, RlsOptions } from './rls/rls-options';
export type { RlsPolicySqlOptions } from './rls/rls-policy-sql';
export type { ScopedResult, ScopeSnapshot, ScopeState } from './scope-state';
export {
  bindScope,
  captureScope,
  getScope,
  runInScope,
  runWithState,
  scope,
  scopeStorage,
  scopesDisabled,
  wrapInScope,
  wrapScopesDisabled,
} from './scope-state';
export type {
  All,
  DimensionName,
  FrozenScopeValues,
  ScopeDimensions,
  ScopeKey,
  ScopeValue,
  ScopeValues,
} from './scope-values';
export { ALL, keysEqual, normalizeScopeValue, scopeValueIncludes } from './scope-values';
export type { DimensionPath, DimensionRule, TableDeclaration, TablePolicy } from './table-paths';
