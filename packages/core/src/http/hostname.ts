// Parsing a Host value ourselves, the same way on the three frameworks: their getters differ on
// case, trailing dots, ports, IPv6 brackets and userinfo, and none checks the base domain.
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { ScopeError } from '../errors';

/** A Host value, classified. */
export type ParsedHost =
  | { readonly kind: 'name'; readonly name: string; readonly labels: readonly string[] }
  | { readonly kind: 'ip' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly reason: string };

const ABSENT: ParsedHost = Object.freeze({ kind: 'absent' });
const IP: ParsedHost = Object.freeze({ kind: 'ip' });
const PORT = /^\d{1,5}$/;
// Checked before lower-casing: String#toLowerCase maps some non-ASCII letters to ASCII ones
// (KELVIN SIGN → "k"), which would let a look-alike host name reach another tenant.
const ASCII_HOST = /^[A-Za-z0-9.-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|\d+)$/;

function invalid(reason: string): ParsedHost {
  return { kind: 'invalid', reason };
}

function parseBracketed(host: string): ParsedHost {
  const end = host.indexOf(']');
  if (end < 0) return invalid('unclosed IPv6 literal');
  const rest = host.slice(end + 1);
  if (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1)))) return invalid('bad port');
  return isIPv6(host.slice(1, end)) ? IP : invalid('malformed IPv6 literal');
}

/**
 * Lower-cases, drops a port and one trailing dot, and refuses anything that is not a plain DNS
 * name (userinfo, commas, spaces, slashes, non-ASCII, empty labels). IP literals are reported
 * as such: they name no tenant.
 */
export function parseHost(host: string | undefined): ParsedHost {
  if (host === undefined || host === '') return ABSENT;
  if (host.length > 300) return invalid('too long');
  if (host.startsWith('[')) return parseBracketed(host);
  let name = host;
  const colon = name.indexOf(':');
  if (colon >= 0) {
    if (!PORT.test(name.slice(colon + 1))) return invalid('bad port');
    name = name.slice(0, colon);
  }
  if (!ASCII_HOST.test(name)) return invalid('not a DNS name');
  name = name.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253) return invalid('bad length');
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return invalid('not a DNS name');
  if (isIPv4(name) || NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) return IP;
  // Punycode labels must decode: browsers send only well-formed ones.
  if (name.includes('xn--') && !labels.every(wellFormedLabel)) return invalid('malformed IDNA label');
  return { kind: 'name', name, labels };
}

// A punycode label must decode to Unicode that encodes back to it. Node ≤ 24.18 answers '' for a
// malformed one; later releases hand it back unchanged: checking the round trip works on both.
function wellFormedLabel(label: string): boolean {
  if (!label.startsWith('xn--')) return true;
  const unicode = domainToUnicode(label);
  return unicode !== '' && unicode !== label && domainToASCII(unicode) === label;
}

/** A configured domain in the form `parseHost` compares against (Unicode accepted, as punycode). */
export function normalizeDomain(domain: string): string {
  const parsed = typeof domain === 'string' ? parseHost(domainToASCII(domain) || domain) : ABSENT;
  if (parsed.kind !== 'name') {
    throw new ScopeError('INVALID_DEFINITION', `"${String(domain)}" is not a domain name a tenant can live under.`, {
      value: domain,
    });
  }
  return parsed.name;
}
