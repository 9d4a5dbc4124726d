// The scope state as the value of the RLS setting: JSON the generated helper function reads.
//
//   scope({ tenant: 7 })            {"enabled":true,"values":{"tenant":["7"]}}
//   scope({ tenant: [1, 2] })       {"enabled":true,"values":{"tenant":["1","2"]}}
//   scope({ tenant: ALL })          {"enabled":true,"values":{"tenant":"all"}}
//   scopesDisabled(…)               {"enabled":false,"values":{…}}
//   no scope                        {"enabled":true,"values":{}}
//
// Keys are always strings in an array, so a key spelled "all" is never ALL. Disabled and ALL are
// explicit: the helper maps them to "every tenant", and a missing dimension, an empty setting or
// no setting at all to "no tenant".
import { getScope, type ScopeState } from '../scope-state';
import { ALL, type ScopeKey, type ScopeValue } from '../scope-values';

const cache = new WeakMap<ScopeState, string>();

function encode(value: ScopeValue): string[] | 'all' {
  if (value === ALL) return 'all';
  if (Array.isArray(value)) return (value as readonly ScopeKey[]).map(String);
  return [String(value as ScopeKey)];
}

/** The setting's value for a scope state (states are immutable, so each is encoded once). */
export function settingValue(state: ScopeState): string {
  let text = cache.get(state);
  if (text !== undefined) return text;
  const values: Record<string, string[] | 'all'> = {};
  for (const [dimension, value] of Object.entries(state.values)) values[dimension] = encode(value);
  text = JSON.stringify({ enabled: state.enabled, values });
  cache.set(state, text);
  return text;
}

/** The setting's value for the scope in force. */
export function currentSettingValue(): string {
  return settingValue(getScope());
}

/** A string literal for the simple query protocol (as node-postgres' escapeLiteral). */
export function sqlLiteral(text: string): string {
  let hasBackslash = false;
  let escaped = "'";
  for (const c of text) {
    if (c === "'") escaped += "''";
    else if (c === '\\') {
      escaped += '\\\\';
      hasBackslash = true;
    } else escaped += c;
  }
  escaped += "'";
  return hasBackslash ? `E${escaped}` : escaped;
}
