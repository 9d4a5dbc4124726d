// Reading the raws of a query: each raw's final text (bindings spliced) is read for scoped
// table names and for what could escape its slot. A trusted raw is read only to name the
// tables of its bypass event.
import type { TablePolicy } from '../../table-paths';
import type { ClientLike, RawLike } from '../knex-internals';
import type { TableMatcher } from '../table-names';
import { expandRaw } from './expand-raw';
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

const families = new WeakMap<object, SqlFamily>();

function familyOf(client: ClientLike): SqlFamily {
  let family = families.get(client);
  if (family === undefined) {
    family = sqlFamily(client.dialect);
    families.set(client, family);
  }
  return family;
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
  const family = familyOf(client);
  const trusted = isTrustedRaw(raw);
  const { text, problem } = expandRaw(raw, family === 'mysql' ? '`' : '"');
  if (problem !== undefined && !trusted) out.push({ raw, text, trusted, problem });
  const reading = readSql(text, family, fragment);
  if (!trusted) for (const p of reading.problems) out.push({ raw, text, trusted, problem: p });
  const names = reading.names;
  for (let i = 0; i < names.length; i++) {
    const table = matcher.matchSqlName(names[i] as string);
    if (table !== undefined) out.push({ raw, text, trusted, table });
  }
}
