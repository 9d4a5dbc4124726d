// What a raw text may refer to, read conservatively: every name in it that is not provably a
// column qualifier (`pages.title`) is a candidate table reference, wherever it stands (FROM
// lists in any shape, CTE names, aliases, function arguments). A string literal counts when it
// is a name (`from 'pages'`, `'pages'::regclass`) or reads as SQL (dynamic SQL). What cannot be
// read, or could escape the slot it is spliced into, is a problem: the caller refuses it.
import { LRUCache } from 'lru-cache';
import type { LexicalVariant, SqlFamily } from './sql-dialect';
import { type Lexed, type Token, tokenize } from './tokenize';

export interface SqlReading {
  /** Candidate table names, as written (the matcher folds them, see foldName). */
  readonly names: readonly string[];
  /** Why the text cannot be accepted as it is (empty when it can). */
  readonly problems: readonly string[];
}

const SQL_WORDS = new Set(['select', 'from', 'join', 'into', 'update', 'table', 'using', 'delete', 'insert', 'with']);

function variantsOf(sql: string, family: SqlFamily): LexicalVariant[] {
  const backslash = sql.includes('\\');
  if (family === 'mysql') {
    const quotes = sql.includes('"') ? [true, false] : [true];
    const escapes = backslash ? [true, false] : [true];
    return quotes.flatMap((doubleQuoteIsString) =>
      escapes.map((backslashEscapes) => ({ backslashEscapes, doubleQuoteIsString })),
    );
  }
  // PostgreSQL: standard_conforming_strings is on by default, but a server may turn it off
  if (family === 'pg' && backslash) {
    return [
      { backslashEscapes: false, doubleQuoteIsString: false },
      { backslashEscapes: true, doubleQuoteIsString: false },
    ];
  }
  return [{ backslashEscapes: false, doubleQuoteIsString: false }];
}

function isName(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
}

/** Names in token position: all but those followed by `.name` or `.*` (qualifiers). */
function collectNames(tokens: readonly Token[], family: SqlFamily, out: Set<string>, depth: number): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'string') {
      collectFromString(t.text, family, out, depth, namesATable(tokens, i, family));
      continue;
    }
    if (!isName(t)) continue;
    const dot = tokens[i + 1];
    const after = tokens[i + 2];
    if (dot?.kind === 'punct' && dot.text === '.' && (isName(after) || (after?.kind === 'punct' && after.text === '*')))
      continue;
    out.add(t.text);
  }
}

const TABLE_WORDS = new Set(['from', 'join', 'into', 'update', 'table', 'using']);

/**
 * Whether a string literal at `i` stands where it may name a table. SQLite takes a string as a
 * table name (`from 'pages'`, `from a, 'pages'`, `from ('pages')`, and a fragment spliced after
 * FROM or JOIN: `fromRaw("'pages' as p")`); any dialect may cast one to a table
 * (`'pages'::regclass`). A string compared with a column (`commentable_type = 'pages'`) is a value.
 */
function namesATable(tokens: readonly Token[], i: number, family: SqlFamily): boolean {
  const after = tokens[i + 1];
  if (after?.kind === 'punct' && after.text === ':' && tokens[i + 2]?.text === ':') return true;
  if (family !== 'sqlite' && family !== 'unknown') return false;
  const before = tokens[i - 1];
  if (before === undefined) return true;
  if (before.kind === 'word' && TABLE_WORDS.has(before.text.toLowerCase())) return true;
  return before.kind === 'punct' && (before.text === ',' || before.text === '(');
}

/** A string literal: a table name itself (where it stands for one), or dynamic SQL that names tables. */
function collectFromString(value: string, family: SqlFamily, out: Set<string>, depth: number, asTable: boolean): void {
  const trimmed = value.trim();
  if (trimmed === '' || depth > 2) return;
  const inner = tokenize(trimmed, family === 'unknown' ? 'pg' : family, {
    backslashEscapes: false,
    doubleQuoteIsString: false,
  });
  const names = inner.tokens.filter(isName);
  const last = names[names.length - 1];
  // `'pages'`, `'public.pages'`, `'"pages"'`: the last segment of a name
  const isDotted = inner.tokens.every((t, i) => (i % 2 === 0 ? isName(t) : t.kind === 'punct' && t.text === '.'));
  if (last && isDotted && inner.tokens.length % 2 === 1) {
    if (asTable) out.add(last.text);
    return;
  }
  if (!names.some((t) => t.kind === 'word' && SQL_WORDS.has(t.text.toLowerCase()))) return;
  if (inner.problems.length > 0) {
    // unreadable dynamic SQL: every word in it counts
    for (const word of trimmed.match(/[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/g) ?? []) out.add(word);
    return;
  }
  collectNames(inner.tokens, family, out, depth + 1);
}

// Ways to run SQL text that no reader can see into: functions that run a query (or dump a
// table, a schema, a database) named by a string or an oid, and statements that execute text.
const DYNAMIC_SQL_FUNCTIONS = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'dblink',
  'dblink_exec',
  'dblink_open',
  'dblink_fetch',
  'dblink_send_query',
  'dblink_get_result',
  // full-text search functions that run their text argument as a query
  'ts_stat',
  'ts_rewrite',
  // tablefunc, and SQLite's eval() and extension loading
  'crosstab',
  'crosstab2',
  'crosstab3',
  'crosstab4',
  'connectby',
  'eval',
  'load_extension',
]);
// Words that run SQL text wherever they stand (MariaDB's BEGIN NOT ATOMIC … EXECUTE IMMEDIATE …).
const DYNAMIC_SQL_WORDS = new Set(['execute', 'prepare', 'deallocate', 'call']);
// Catalogs that hold column values (histograms, most common values, sample rows) of every tenant.
const STATISTICS_CATALOGS = new Set([
  'pg_stats',
  'pg_stats_ext',
  'pg_stats_ext_exprs',
  'pg_statistic',
  'pg_statistic_ext_data',
  'column_stats',
  'column_statistics',
  'sqlite_stat1',
  'sqlite_stat3',
  'sqlite_stat4',
]);
const DYNAMIC_SQL_STATEMENTS = new Set(['do', 'copy', 'handler', 'load']);

/** `x.execute`: a column or a schema's object, not the statement word. */
function isQualified(tokens: readonly Token[], i: number): boolean {
  const before = tokens[i - 1];
  const after = tokens[i + 1];
  return (before?.kind === 'punct' && before.text === '.') || (after?.kind === 'punct' && after.text === '.');
}

function structuralProblems(lexed: Lexed, fragment: boolean, out: Set<string>): void {
  for (const p of lexed.problems) out.add(p);
  let depth = 0;
  let statementStart = true;
  const tokens = lexed.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if ((t.kind === 'word' || t.kind === 'quoted') && STATISTICS_CATALOGS.has(t.text.toLowerCase())) {
      out.add(`the statistics catalog ${t.text}, which holds column values of every tenant`);
    }
    if (t.kind === 'word') {
      const word = t.text.toLowerCase();
      const next = tokens[i + 1];
      if (DYNAMIC_SQL_FUNCTIONS.has(word) && next?.kind === 'punct' && next.text === '(') {
        out.add(`dynamic SQL (${word}), which no reader can see into`);
      } else if (
        (statementStart && DYNAMIC_SQL_STATEMENTS.has(word)) ||
        (DYNAMIC_SQL_WORDS.has(word) && !isQualified(tokens, i))
      ) {
        out.add(`a ${word.toUpperCase()} statement, which runs SQL no reader can see into`);
      }
    }
    statementStart = t.kind === 'punct' && (t.text === ';' || (t.text === '(' && statementStart));
    if (t.kind !== 'punct') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')') {
      depth--;
      if (depth < 0) {
        out.add('a closing parenthesis without its opening one (it would close the SQL around it)');
        depth = 0;
      }
    } else if (t.text === ';' && fragment) out.add('a statement separator (;)');
  }
  if (depth > 0) out.add('an opening parenthesis without its closing one');
  if (fragment && lexed.openLineComment) out.add('a line comment that would swallow the SQL after it');
}

function readUncached(sql: string, family: SqlFamily, fragment: boolean): SqlReading {
  const names = new Set<string>();
  const problems = new Set<string>();
  if (family === 'unknown') {
    // no lexer for this dialect: every word anywhere counts, and parentheses must balance
    for (const word of sql.match(/[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/g) ?? []) names.add(word);
    structuralProblems(
      tokenize(sql, 'pg', { backslashEscapes: false, doubleQuoteIsString: false }),
      fragment,
      problems,
    );
    return { names: [...names], problems: [...problems] };
  }
  for (const variant of variantsOf(sql, family)) {
    const lexed = tokenize(sql, family, variant);
    structuralProblems(lexed, fragment, problems);
    collectNames(lexed.tokens, family, names, 0);
  }
  return { names: [...names], problems: [...problems] };
}

// Apps repeat the same raw texts; reading one costs microseconds, a hit a map lookup.
const cache = new LRUCache<string, SqlReading>({ max: 2000 });

/** Reads one raw text (its bindings already spliced in, see expand-raw.ts). */
export function readSql(sql: string, family: SqlFamily, fragment: boolean): SqlReading {
  const key = `${family}${fragment ? 'f' : 's'}\u0000${sql}`;
  let reading = cache.get(key);
  if (reading === undefined) {
    reading = readUncached(sql, family, fragment);
    cache.set(key, reading);
  }
  return reading;
}
