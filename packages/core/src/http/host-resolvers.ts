// Tenant keys from the host name: a subdomain under a base domain, or a whole custom domain.
import { ScopeError } from '../errors';
import { normalizeDomain, type ParsedHost, parseHost } from './hostname';
import { type CompiledKeyRule, checkKey, compileKeyRule, type KeyRule, keyInvalid } from './keys';
import type { TenantRequest } from './request';
import type { KeyResolver } from './resolvers';

function sameHost(a: ParsedHost, b: ParsedHost): boolean {
  if (a.kind === 'name' && b.kind === 'name') return a.name === b.name;
  return a.kind === b.kind;
}

/**
 * The host the framework's proxy-aware getter gave, parsed. The getters differ on malformed
 * input (Koa keeps the first of a comma list in Host, Express keeps it verbatim), so a malformed
 * Host header is refused whatever the getter made of it. A host taken from an X-Forwarded-Host
 * *list* is refused too: Express and Koa take the first entry, Fastify the last, and a proxy
 * that appends leaves the client's own value first.
 */
export function requestHost(req: TenantRequest): ParsedHost {
  const direct = parseHost(req.header('host'));
  if (direct.kind === 'invalid') return direct;
  const host = parseHost(req.host);
  const forwarded = req.header('x-forwarded-host');
  if (forwarded?.includes(',') && !sameHost(host, direct)) {
    return { kind: 'invalid', reason: 'X-Forwarded-Host lists several hosts' };
  }
  return host;
}

/** Options of `fromSubdomain`: a base domain (preferred) or a label offset, not both. */
export interface SubdomainOptions extends KeyRule {
  /** The domain(s) tenants live under: `acme.example.com` gives `acme` for `example.com`. */
  readonly baseDomain?: string | readonly string[];
  /**
   * Or how many trailing labels form the base domain (2 for `example.com`, 1 for
   * `localhost`). Any domain is then accepted: prefer `baseDomain`.
   */
  readonly offset?: number;
  /** Labels that never name a tenant and count as no key. Default `['www']`. */
  readonly reserved?: readonly string[];
}

const NESTED = Symbol('nested');

function labelUnder(name: string, bases: readonly string[]): string | undefined | typeof NESTED {
  for (const base of bases) {
    if (name === base) return undefined; // the apex
    if (name.endsWith(`.${base}`)) {
      const label = name.slice(0, -(base.length + 1));
      return label.includes('.') ? NESTED : label;
    }
  }
  return undefined; // a foreign domain
}

function labelAt(labels: readonly string[], offset: number): string | undefined | typeof NESTED {
  if (labels.length <= offset) return undefined;
  return labels.length > offset + 1 ? NESTED : labels[0];
}

/** The key is the one label left of the base domain; nested labels are invalid. */
export function fromSubdomain(options: SubdomainOptions): KeyResolver {
  const { baseDomain, offset } = options;
  if ((baseDomain === undefined) === (offset === undefined)) {
    throw new ScopeError('INVALID_DEFINITION', 'fromSubdomain() takes either `baseDomain` or `offset`.');
  }
  if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 1)) {
    throw new ScopeError('INVALID_DEFINITION', 'fromSubdomain() `offset` is a whole number >= 1.', { value: offset });
  }
  const bases = (typeof baseDomain === 'string' ? [baseDomain] : [...(baseDomain ?? [])])
    .map(normalizeDomain)
    .sort((a, b) => b.length - a.length); // the most specific base wins
  const reserved = new Set((options.reserved ?? ['www']).map((label) => label.toLowerCase()));
  const rule = compileKeyRule(options);
  return (req) => {
    const host = requestHost(req);
    if (host.kind === 'invalid') return keyInvalid('subdomain', host.reason);
    if (host.kind !== 'name') return undefined;
    const label = offset === undefined ? labelUnder(host.name, bases) : labelAt(host.labels, offset);
    if (label === NESTED) return keyInvalid('subdomain', 'more than one label left of the base domain');
    if (label === undefined || reserved.has(label)) return undefined;
    return checkKey(label, 'subdomain', rule);
  };
}

const HOST_RULE: CompiledKeyRule = Object.freeze({
  pattern: /^[a-z0-9.-]+$/,
  maxLength: 253,
  lowercase: true,
  asciiByPattern: false,
});

/**
 * The key is the whole host name, lower-cased, without port or trailing dot: for tenants on
 * their own domains. IP literals give no key.
 */
export function fromHost(rule?: KeyRule): KeyResolver {
  const compiled = compileKeyRule(rule, HOST_RULE);
  return (req) => {
    const host = requestHost(req);
    if (host.kind === 'invalid') return keyInvalid('host', host.reason);
    return host.kind === 'name' ? checkKey(host.name, 'host', compiled) : undefined;
  };
}
