// The text of a raw as Knex will send it, with every binding form spliced in the way Knex's raw
// formatter splices it: `?` and `:x` bound to a raw or a ref (its SQL), `??` and `:x:` bound to
// a string, an array or an object (identifiers, aliases), nested raws recursively. A builder or
// callback bound anywhere stands as `(?)`: it is compiled, and filtered, through the compiler seam.

import { types } from 'node:util';
import { isBuilder, isRaw, type RawLike } from '../knex-internals';
import { carriesSqlString, SQL_STRING_VALUE } from '../sql-string-values';
import { isTrustedRaw } from './trust';

export interface Expanded {
  readonly text: string;
  /** Why the bindings could not be spliced as Knex would (Knex would throw, or we cannot tell). */
  readonly problem: string | undefined;
  /** A trusted raw was bound in (it stands as `?` in the text: vouched for, not read). */
  readonly vouched: boolean;
}

const SUBQUERY = '(?)';

const KNEX_METHODS = ['toSQL', 'toQuery', 'toString'];

/** Knex's own Raw and Ref prototypes: a subclass of the app's could override toSQL. */
export interface KnexRawPrototypes {
  readonly raw: object;
  readonly ref: object;
}

// The fields Knex reads from a raw when it compiles one.
const KNEX_FIELDS = ['sql', 'bindings', '_wrappedBefore', '_wrappedAfter', 'ref', '_schema', '_alias', 'isRawInstance'];

/** No getter or proxy: a value read here is the value Knex reads. */
function isDataOnly(value: object, keys: Iterable<string>): boolean {
  if (types.isProxy(value)) return false;
  for (const key of keys) {
    const own = Object.getOwnPropertyDescriptor(value, key);
    if (own !== undefined && !('value' in own)) return false;
  }
  return true;
}

function hasKnexShape(raw: RawLike, protos: KnexRawPrototypes): boolean {
  for (const name of KNEX_METHODS) if (Object.hasOwn(raw, name)) return false;
  if (!isDataOnly(raw, KNEX_FIELDS)) return false;
  const bindings: unknown = raw.bindings;
  if (typeof bindings === 'object' && bindings !== null && !isDataOnly(bindings, Object.keys(bindings))) return false;
  const proto = Object.getPrototypeOf(raw);
  return proto === protos.raw || proto === protos.ref;
}

/** lodash's isPlainObject, which Knex uses to tell named bindings. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return true;
  const ctor = Object.hasOwn(proto, 'constructor') ? (proto as { constructor: unknown }).constructor : undefined;
  return (
    typeof ctor === 'function' && Function.prototype.toString.call(ctor) === Function.prototype.toString.call(Object)
  );
}

class Expander {
  problem: string | undefined;
  vouched = false;

  constructor(
    private readonly quote: string,
    private readonly protos: KnexRawPrototypes,
  ) {}

  identifier(name: string): string {
    return (
      this.quote +
      name
        .trim()
        .split(this.quote)
        .join(this.quote + this.quote) +
      this.quote
    );
  }

  /** Knex's wrapString: `schema.table as alias` → quoted segments. */
  wrapString(value: string): string {
    const as = value.search(/ as /i);
    if (as !== -1) return `${this.wrapString(value.slice(0, as))} as ${this.identifier(value.slice(as + 4))}`;
    return value
      .split('.')
      .map((segment) => this.identifier(segment))
      .join('.');
  }

  /** Knex's wrap(): what a `??` binding, or one element of it, becomes. */
  wrap(value: unknown, depth: number): string {
    if (isBuilder(value) || typeof value === 'function') return SUBQUERY;
    if (isRaw(value)) return this.raw(value, depth + 1);
    if (typeof value === 'number') return String(value);
    if (typeof value === 'object' && value !== null) {
      const parts: string[] = [];
      for (const alias in value) {
        const inner = (value as Record<string, unknown>)[alias];
        parts.push(`${this.wrap(inner, depth)} as ${this.identifier(alias)}`);
      }
      return parts.join(', ');
    }
    return this.wrapString(String(value));
  }

  columnize(value: unknown, depth: number): string {
    return Array.isArray(value) ? value.map((v) => this.wrap(v, depth)).join(', ') : this.wrap(value, depth);
  }

  /** Knex's client.parameter(): what a `?` binding becomes. */
  parameter(value: unknown, depth: number): string {
    if (isBuilder(value) || typeof value === 'function') return SUBQUERY;
    if (isRaw(value)) return this.raw(value, depth + 1);
    if (carriesSqlString(value)) this.problem = SQL_STRING_VALUE;
    return '?';
  }

  raw(raw: RawLike, depth: number): string {
    if (depth > 0 && isTrustedRaw(raw)) {
      this.vouched = true;
      return '?';
    }
    // Knex sends what toSQL() returns and reads `sql` more than once: a raw that replaces
    // either could send something else than what is read here
    if (!hasKnexShape(raw, this.protos)) {
      this.problem = 'a raw whose toSQL or sql is not Knex’s own';
      return '?';
    }
    if (depth > 32) {
      this.problem = 'raws nested more than 32 deep';
      return '?';
    }
    const r = raw as RawLike & {
      _wrappedBefore?: unknown;
      _wrappedAfter?: unknown;
      _schema?: unknown;
      _alias?: unknown;
    };
    let sql: string;
    if (typeof r.ref === 'string') {
      // knex.ref(): a name, with its schema and alias
      const name = typeof r._schema === 'string' && r._schema ? `${r._schema}.${r.ref}` : r.ref;
      sql = this.columnize(name, depth) + (r._alias ? ` as ${this.wrap(r._alias, depth)}` : '');
    } else sql = this.body(r, depth);
    const before = typeof r._wrappedBefore === 'string' ? r._wrappedBefore : '';
    const after = typeof r._wrappedAfter === 'string' ? r._wrappedAfter : '';
    if ((r._wrappedBefore && !before) || (r._wrappedAfter && !after))
      this.problem = 'a raw wrapped in something other than text';
    return before + sql + after;
  }

  private body(raw: RawLike, depth: number): string {
    const sql: unknown = raw.sql;
    // joinRaw(db.raw(…)) wraps a raw in a raw: Knex prints the inner one in its place
    if (isRaw(sql)) return this.raw(sql, depth + 1);
    if (typeof sql !== 'string') {
      this.problem = 'a raw whose SQL is not a string';
      return '';
    }
    const bindings: unknown = raw.bindings;
    if (Array.isArray(bindings)) {
      let index = 0;
      const text = sql.replace(/\\?\?\??/g, (match) => {
        if (match === '\\?') return match;
        const value: unknown = bindings[index++];
        return match === '??' ? this.columnize(value, depth) : this.parameter(value, depth);
      });
      if (index !== bindings.length) this.problem = `a raw with ${bindings.length} bindings for ${index} placeholders`;
      return text;
    }
    if (isPlainObject(bindings)) {
      const values = bindings;
      return sql.replace(
        /\\?(:(\w+):(?=::)|:(\w+):(?!:)|:(\w+))/g,
        (match, p1: string, p2?: string, p3?: string, p4?: string) => {
          if (match !== p1) return p1;
          const key = (p2 ?? p3 ?? p4) as string;
          const value = values[key];
          if (value === undefined) return match;
          const isIdentifier = match.endsWith(':');
          return isIdentifier ? this.columnize(value, depth) : this.parameter(value, depth);
        },
      );
    }
    return sql;
  }
}

/** The raw's final text for the reader; quote is the dialect's identifier quote. */
export function expandRaw(raw: RawLike, quote: string, protos: KnexRawPrototypes): Expanded {
  const expander = new Expander(quote, protos);
  const text = expander.raw(raw, 0);
  return { text, problem: expander.problem, vouched: expander.vouched };
}
