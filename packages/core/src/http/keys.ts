// Tenant keys: what a resolver found, and the validation every key passes before any lookup.
import { ScopeError } from '../errors';

/** How a key is validated before it may reach the lookup. */
export interface KeyRule {
  /**
   * The whole key must match (anchors are implied). Default: a DNS-label slug,
   * `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`.
   */
  readonly pattern?: RegExp;
  /** The longest key accepted, checked before the pattern. Default 63. */
  readonly maxLength?: number;
  /** Fold ASCII upper case to lower case first. Default false: upper case is refused. */
  readonly lowercase?: boolean;
}

/** A key a resolver found and validated, or a key that was present but unacceptable. */
export type KeyOutcome =
  | { readonly kind: 'key'; readonly key: string; readonly source: string }
  | { readonly kind: 'invalid'; readonly source: string; readonly reason: string };

export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;
const OUTCOME: unique symbol = Symbol.for('knex-scopes.KeyOutcome');

/** A rule with its defaults filled in; its pattern anchored and safe to reuse (no `g`/`y` state). */
export interface CompiledKeyRule {
  readonly pattern: RegExp;
  readonly maxLength: number;
  readonly lowercase: boolean;
  /** The pattern admits printable ASCII only (the default slug, no folding): no separate check. */
  readonly asciiByPattern: boolean;
}

/** The pattern anchored at both ends, so that `test()` means "the whole key matches". */
function anchored(pattern: RegExp): RegExp {
  return new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gym]/g, ''));
}

export const DEFAULT_RULE: CompiledKeyRule = Object.freeze({
  pattern: anchored(SLUG),
  maxLength: 63,
  lowercase: false,
  asciiByPattern: true,
});

export function compileKeyRule(rule: KeyRule = {}, defaults: CompiledKeyRule = DEFAULT_RULE): CompiledKeyRule {
  const maxLength = rule.maxLength ?? defaults.maxLength;
  if (
    (rule.pattern !== undefined && !(rule.pattern instanceof RegExp)) ||
    !Number.isSafeInteger(maxLength) ||
    maxLength < 1
  ) {
    throw new ScopeError('INVALID_DEFINITION', 'A key rule needs a RegExp `pattern` and a positive `maxLength`.', {
      value: rule,
    });
  }
  const pattern = rule.pattern ? anchored(rule.pattern) : defaults.pattern;
  const lowercase = rule.lowercase ?? defaults.lowercase;
  return Object.freeze({
    pattern,
    maxLength,
    lowercase,
    asciiByPattern: pattern === DEFAULT_RULE.pattern && !lowercase,
  });
}

// Outcomes are instances of these classes rather than frozen literals: one is made per request,
// and a literal with a symbol key plus Object.freeze cost several times the rest of the check.
// The brand sits on the prototype, under a registered symbol, so outcomes of another copy of
// this package are recognised too.
class FoundKey {
  readonly kind = 'key' as const;
  constructor(
    readonly key: string,
    readonly source: string,
  ) {}
}
class InvalidKey {
  readonly kind = 'invalid' as const;
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {}
}
for (const Outcome of [FoundKey, InvalidKey]) Object.defineProperty(Outcome.prototype, OUTCOME, { value: true });

export function keyFound(key: string, source: string): KeyOutcome {
  return new FoundKey(key, source);
}

export function keyInvalid(source: string, reason: string): KeyOutcome {
  return new InvalidKey(source, reason);
}

/** True for an outcome made by a built-in resolver (never for a value a custom function returned). */
export function isKeyOutcome(value: unknown): value is KeyOutcome {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[OUTCOME] === true;
}

/**
 * Turns a raw value (a header, a label, a session field, a custom function's result) into an
 * outcome: `undefined` when there is no key, `invalid` when one is present but unacceptable.
 */
export function checkKey(value: unknown, source: string, rule: CompiledKeyRule): KeyOutcome | undefined {
  if (value === undefined || value === null) return undefined;
  let key: string;
  if (typeof value === 'string') key = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) key = String(value);
  else if (typeof value === 'bigint' && value >= 0n) key = value.toString();
  else return keyInvalid(source, `a ${Array.isArray(value) ? 'list' : typeof value} is not a tenant key`);
  if (key.length === 0) return keyInvalid(source, 'empty key');
  if (key.length > rule.maxLength) return keyInvalid(source, `longer than ${rule.maxLength} characters`);
  // ASCII first: lower-casing some non-ASCII letters yields ASCII ones.
  if (!rule.asciiByPattern && !PRINTABLE_ASCII.test(key)) return keyInvalid(source, 'not printable ASCII');
  if (rule.lowercase) key = key.toLowerCase();
  if (!rule.pattern.test(key)) return keyInvalid(source, 'does not match the key pattern');
  return keyFound(key, source);
}
