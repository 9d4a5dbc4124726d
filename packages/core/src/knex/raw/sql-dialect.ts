// Which lexical rules a raw text is read with. Knex's dialect names map onto three families;
// any other client is read with the fallback, which treats every occurrence of a scoped name
// anywhere in the text as a reference (it cannot tell strings and comments apart safely).

export type SqlFamily = 'pg' | 'sqlite' | 'mysql' | 'unknown';

export function sqlFamily(dialect: string): SqlFamily {
  if (dialect === 'postgresql' || dialect === 'pg' || dialect === 'cockroachdb' || dialect === 'redshift') return 'pg';
  if (dialect === 'sqlite3' || dialect === 'better-sqlite3' || dialect === 'sqlite') return 'sqlite';
  if (dialect === 'mysql' || dialect === 'mysql2') return 'mysql';
  return 'unknown';
}

/**
 * Server settings that change how a text is tokenized. Where a setting is the app's (or the
 * server's) choice, the reader tokenizes the text under each choice and keeps the union of
 * what the readings find, so a text cannot mean one thing to the reader and another to the server.
 */
export interface LexicalVariant {
  /** Backslash escapes inside '…' strings (MySQL by default; PostgreSQL with standard_conforming_strings off). */
  readonly backslashEscapes: boolean;
  /** MySQL: "…" is a string by default, an identifier under ANSI_QUOTES. */
  readonly doubleQuoteIsString: boolean;
}
