// A lexer for raw SQL that knows each dialect's quoting and comments: it only has to tell names,
// strings, comments and punctuation apart, exactly where the server does, and say what it could
// not read. No grammar: what a name means is decided by read-sql.ts, conservatively.
import type { LexicalVariant, SqlFamily } from './sql-dialect';

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** word: as written; quoted: the name inside the quotes; string: its value; punct: the character. */
  readonly text: string;
}

export interface Lexed {
  readonly tokens: Token[];
  /** What makes the text unreadable or unsafe to splice into a statement (empty when fine). */
  readonly problems: string[];
  /** A line comment runs to the end of the text: it would swallow whatever Knex appends. */
  readonly openLineComment: boolean;
}

function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || (c >= 48 && c <= 57) || c === 36; // digits, '$'
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Reads a quoted run that starts at `start` (the opening quote); the quote doubled is itself. */
function readQuoted(
  sql: string,
  start: number,
  close: number,
  backslash: boolean,
): { end: number; value: string } | undefined {
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (backslash && c === 92) {
      const decoded = decodeEscape(sql, i + 1);
      value += decoded.text;
      i = decoded.next;
      continue;
    }
    if (c === close) {
      if (sql.charCodeAt(i + 1) === close) {
        value += sql[i];
        i += 2;
        continue;
      }
      return { end: i + 1, value };
    }
    value += sql[i];
    i++;
  }
  return undefined;
}

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * One backslash escape, as PostgreSQL's E'…' reads it (octal, \x, \u, \U; MySQL's are a subset):
 * a name spelled with escapes (E'\x70ages') must be read as the server reads it.
 */
function decodeEscape(sql: string, at: number): { text: string; next: number } {
  const c = sql[at] ?? '';
  const run = (pattern: RegExp, from: number) => {
    pattern.lastIndex = from;
    return pattern.exec(sql)?.[0] ?? '';
  };
  if (c === 'x') {
    const hex = run(/[0-9a-fA-F]{1,2}/y, at + 1);
    if (hex) return { text: String.fromCharCode(Number.parseInt(hex, 16)), next: at + 1 + hex.length };
  } else if (c === 'u' || c === 'U') {
    const hex = run(c === 'u' ? /[0-9a-fA-F]{4}/y : /[0-9a-fA-F]{8}/y, at + 1);
    const code = hex ? Number.parseInt(hex, 16) : Number.NaN;
    if (hex && code <= 0x10ffff) return { text: String.fromCodePoint(code), next: at + 1 + hex.length };
  } else if (c >= '0' && c <= '7') {
    const oct = run(/[0-7]{1,3}/y, at);
    return { text: String.fromCharCode(Number.parseInt(oct, 8) & 0xff), next: at + oct.length };
  }
  return { text: SIMPLE_ESCAPES[c] ?? c, next: at + 1 };
}

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

export function tokenize(sql: string, family: SqlFamily, variant: LexicalVariant): Lexed {
  const tokens: Token[] = [];
  const problems: string[] = [];
  let openLineComment = false;
  const n = sql.length;
  let i = 0;
  /** A '…' string from `start`; false when it never ends (the rest cannot be read). */
  const string = (start: number, backslash: boolean): boolean => {
    const q = readQuoted(sql, start, 39, backslash);
    if (!q) {
      problems.push('an unterminated string');
      return false;
    }
    tokens.push({ kind: 'string', text: q.value });
    i = q.end;
    return true;
  };
  // Ends at a carriage return too (PostgreSQL does): ending early only reads more as SQL.
  const lineComment = () => {
    let j = i;
    while (j < n && sql.charCodeAt(j) !== 10 && sql.charCodeAt(j) !== 13) j++;
    if (j === n) openLineComment = true;
    i = j + 1;
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    // whitespace
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11) {
      i++;
      continue;
    }
    const next = sql.charCodeAt(i + 1);
    // comments
    if (c === 45 && next === 45) {
      // MySQL: `--` starts a comment only when followed by whitespace or a control character
      const after = sql.charCodeAt(i + 2);
      if (family !== 'mysql' || Number.isNaN(after) || after <= 32) {
        lineComment();
        continue;
      }
    }
    if (c === 35 && family === 'mysql') {
      lineComment();
      continue;
    }
    if (c === 47 && next === 42) {
      const third = sql[i + 2];
      if (family === 'mysql' && (third === '!' || (third === 'M' && sql[i + 3] === '!'))) {
        problems.push('a MySQL executable comment (/*! … */), which the server runs as SQL');
      }
      if (family === 'pg') {
        // PostgreSQL comments nest
        let depth = 1;
        let j = i + 2;
        while (j < n && depth > 0) {
          if (sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42) {
            depth++;
            j += 2;
          } else if (sql.charCodeAt(j) === 42 && sql.charCodeAt(j + 1) === 47) {
            depth--;
            j += 2;
          } else j++;
        }
        if (depth > 0) problems.push('an unterminated comment');
        i = j;
        continue;
      }
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) {
        problems.push('an unterminated comment');
        i = n;
      } else i = end + 2;
      continue;
    }
    // strings
    if (c === 39) {
      if (!string(i, variant.backslashEscapes)) break;
      continue;
    }
    // quoted identifiers (and MySQL's double-quoted strings)
    if (c === 34 || c === 96 || (c === 91 && family === 'sqlite')) {
      const close = c === 91 ? 93 : c;
      const isString = c === 34 && family === 'mysql' && variant.doubleQuoteIsString;
      const q =
        c === 91
          ? (() => {
              const end = sql.indexOf(']', i + 1);
              return end === -1 ? undefined : { end: end + 1, value: sql.slice(i + 1, end) };
            })()
          : readQuoted(sql, i, close, isString && variant.backslashEscapes);
      if (!q) {
        problems.push('an unterminated quoted name');
        break;
      }
      tokens.push({ kind: isString ? 'string' : 'quoted', text: q.value });
      i = q.end;
      continue;
    }
    // PostgreSQL dollar quotes and $n parameters
    if (c === 36 && family === 'pg') {
      if (isDigit(next)) {
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        tokens.push({ kind: 'param', text: sql.slice(i, j) });
        i = j;
        continue;
      }
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        if (end === -1) {
          problems.push('an unterminated dollar-quoted string');
          break;
        }
        tokens.push({ kind: 'string', text: sql.slice(i + tag[0].length, end) });
        i = end + tag[0].length;
        continue;
      }
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j);
      const at = sql.charCodeAt(j);
      if (
        family === 'pg' &&
        (word === 'U' || word === 'u') &&
        at === 38 &&
        (sql[j + 1] === "'" || sql[j + 1] === '"')
      ) {
        problems.push('a Unicode-escaped string or name (U&…)');
        i = j + 1;
        continue;
      }
      // E'…' (PostgreSQL) always takes backslash escapes; other prefixes (N, X, B, _charset) do not change quoting
      if (family === 'pg' && (word === 'E' || word === 'e') && at === 39) {
        if (!string(j, true)) break;
        continue;
      }
      tokens.push({ kind: 'word', text: word });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(next))) {
      let j = i;
      if (c === 48 && (next === 120 || next === 88)) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(sql[j] as string)) j++;
      } else {
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (sql.charCodeAt(j) === 46) {
          j++;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
        if ((sql.charCodeAt(j) === 101 || sql.charCodeAt(j) === 69) && /[0-9+-]/.test(sql[j + 1] ?? '')) {
          j += 2;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
      }
      tokens.push({ kind: 'number', text: sql.slice(i, j) });
      i = j;
      continue;
    }
    // SQLite parameters :name, @name, $name (a value, never a name)
    if (family === 'sqlite' && (c === 58 || c === 64 || c === 36) && isWordStart(next)) {
      let j = i + 1;
      while (j < n && isWordPart(sql.charCodeAt(j))) j++;
      tokens.push({ kind: 'param', text: sql.slice(i, j) });
      i = j;
      continue;
    }
    if (c === 63) {
      tokens.push({ kind: 'param', text: '?' });
      i++;
      continue;
    }
    tokens.push({ kind: 'punct', text: sql[i] as string });
    i++;
  }
  return { tokens, problems, openLineComment };
}
