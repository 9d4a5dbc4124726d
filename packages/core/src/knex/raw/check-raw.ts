// Reading the raws of a query: each raw's final text (bindings spliced) is read for scoped
// table names and for what could escape its slot. A trusted raw is read only to name the
// tables of its bypass event; each also yields one finding without a table, so that the run
// knows a vouched-for text went in as written (query-channel.ts tells observers).
import type { TablePolicy } from '../../table-paths';
import type { ClientLike, RawLike } from '../knex-internals';
import type { TableMatcher } from '../table-names';
import { expandRaw, type KnexRawPrototypes } from './expand-raw';
import { readSql } from './read-sql';
import { type SqlFamily, sqlFamily } from './sql-dialect';
import { isTrustedRaw } from './trust';

export interface RawFinding {
  readonly raw: RawLike;
  /** The final text that was read. */
  readonly text: string;
  readonly trusted: boolean;
  /** A scoped table the text names… */
  readonly table?: TablePolicy;
  /** …or why the text cannot be accepted. */
  readonly problem?: string;
}

interface ClientFacts {
  readonly family: SqlFamily;
  readonly protos: KnexRawPrototypes;
}

const facts = new WeakMap<object, ClientFacts>();

function factsOf(client: ClientLike): ClientFacts {
  let known = facts.get(client);
  if (known === undefined) {
    const withRef = client as ClientLike & { ref(name: string): unknown };
    known = {
      family: sqlFamily(client.dialect),
      protos: { raw: Object.getPrototypeOf(client.raw('')), ref: Object.getPrototypeOf(withRef.ref('x')) },
    };
    facts.set(client, known);
  }
  return known;
}

/**
 * Adds the findings of one raw to `out`. `fragment`: the raw is spliced into a statement Knex
 * builds (so it must not close, end or comment out what surrounds it); else it is a whole statement.
 */
export function checkRaw(
  raw: RawLike,
  fragment: boolean,
  client: ClientLike,
  matcher: TableMatcher,
  out: RawFinding[],
): void {
  if (typeof raw.ref === 'string' && fragment) {
    // knex.ref() in a builder: a column name, compiled as one
    return;
  }
  const { family, protos } = factsOf(client);
  const trusted = isTrustedRaw(raw);
  const { text, problem, vouched } = expandRaw(raw, family === 'mysql' ? '`' : '"', protos);
  if (problem !== undefined && !trusted) out.push({ raw, text, trusted, problem });
  const reading = readSql(text, family, fragment);
  if (!trusted) for (const p of reading.problems) out.push({ raw, text, trusted, problem: p });
  const names = reading.names;
  for (let i = 0; i < names.length; i++) {
    const table = matcher.matchSqlName(names[i] as string);
    if (table !== undefined) out.push({ raw, text, trusted, table });
  }
  // a trusted raw (or one bound into this one) went in as written, whatever it names: the run records it
  if (trusted || vouched) out.push({ raw, text, trusted: true });
}
