// Prints a case as the Knex chain that runs it: render.ts is run against a recorder that
// stands in for a Knex instance and writes down every call, so the printed chain is exactly
// what was executed (shrunk counterexamples read as code).
import type { Knex } from 'knex';
import type { Read, Write } from './ast';
import { PRINTED, renderRead, renderWrite } from './render';

const TEXT: unique symbol = Symbol('text');

interface Recorded {
  [TEXT]: () => string;
}

function show(value: unknown): string {
  if (value !== null && (typeof value === 'object' || typeof value === 'function') && TEXT in value) {
    return (value as Recorded)[TEXT]();
  }
  // a carrier of toSqlString() (c11): the code that makes it
  const printed = value !== null && typeof value === 'object' ? PRINTED.get(value) : undefined;
  if (printed !== undefined) return printed;
  if (typeof value === 'function') {
    const clause = chain('q');
    value.call(clause, clause);
    return `(q) => ${(clause as Recorded)[TEXT]()}`;
  }
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${/^[a-z_][a-z0-9_]*$/i.test(k) ? k : JSON.stringify(k)}: ${show(v)}`)
      .join(', ')} }`;
  }
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** A chain whose every method call is recorded and returns the chain. */
function chain(start: string): Recorded {
  const calls: string[] = [start];
  const proxy: Recorded = new Proxy(() => {}, {
    get(_target, prop) {
      if (prop === TEXT) return () => calls.join('');
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      return (...args: unknown[]) => {
        calls.push(`.${prop}(${args.map(show).join(', ')})`);
        return proxy;
      };
    },
    has: (_target, prop) => prop === TEXT,
  }) as unknown as Recorded;
  return proxy;
}

/** A stand-in for a Knex instance: `db(t)`, `db.queryBuilder()`, `db.raw()` start chains. */
function recorder(): Knex {
  const db = new Proxy(() => {}, {
    apply: (_target, _this, args: unknown[]) => chain(`db(${args.map(show).join(', ')})`),
    get: (_target, prop) => {
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      return (...args: unknown[]) => chain(`db.${prop}(${args.map(show).join(', ')})`);
    },
  });
  return db as unknown as Knex;
}

// `db.queryBuilder().from(…)` reads better as the equivalent `db.from(…)`
const tidy = (code: string) => code.replace(/db\.queryBuilder\(\)\.(from|with|union)\(/g, 'db.$1(');

export function printRead(q: Read): string {
  return tidy((renderRead(recorder(), q) as unknown as Recorded)[TEXT]());
}

export function printWrite(w: Write): string {
  return tidy((renderWrite(recorder(), w) as unknown as Recorded)[TEXT]());
}
