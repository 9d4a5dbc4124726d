export type { ScopeErrorCode, ScopeErrorDetails } from './errors';
export { isScopeError, ScopeError } from './errors';
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
