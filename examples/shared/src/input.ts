// Reading what the client sent (JSON or form fields arrive as strings or numbers).
import { badRequest } from './http-errors.js';

/** A request body as the framework parsed it (JSON or form), or nothing. */
export type Body = unknown;

/** The fields of a body; anything that is not an object has none. */
export function fields(body: Body): Readonly<Record<string, unknown>> {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

export function id(value: unknown, field = 'id'): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
    throw badRequest(`${field} must be a positive integer.`);
  return n;
}

export function text(value: unknown, field: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw badRequest(`${field} must be a non-empty string of at most ${max} characters.`);
  }
  return value.trim();
}

export function flag(value: unknown, field: string): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw badRequest(`${field} must be true or false.`);
}

/** The fields of `body` that are present, each read by its parser; at least one required. */
export function patch<T extends Record<string, (value: unknown, field: string) => unknown>>(
  body: Body,
  parsers: T,
): { [K in keyof T]?: ReturnType<T[K]> } {
  const given = fields(body);
  const out: Record<string, unknown> = {};
  for (const [field, parse] of Object.entries(parsers)) {
    if (given[field] !== undefined) out[field] = parse(given[field], field);
  }
  if (Object.keys(out).length === 0) throw badRequest(`Send at least one of: ${Object.keys(parsers).join(', ')}.`);
  return out as { [K in keyof T]?: ReturnType<T[K]> };
}
