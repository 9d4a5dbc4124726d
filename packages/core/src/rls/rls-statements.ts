// What a statement does to the transaction, read from its first words: the bridge wraps, applies
// the setting after, or lets through each kind differently.

/**
 * - `plain`: any statement that reads or writes: it must run with the setting;
 * - `begin`: BEGIN, START TRANSACTION;
 * - `end`: COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION: the transaction ends;
 * - `rollback-to`: ROLLBACK TO SAVEPOINT: reverts the settings made since the savepoint;
 * - `savepoint`: SAVEPOINT, RELEASE SAVEPOINT;
 * - `no-transaction`: what PostgreSQL refuses inside a transaction block (VACUUM, CREATE DATABASE, …).
 */
export type StatementKind = 'plain' | 'begin' | 'end' | 'rollback-to' | 'savepoint' | 'no-transaction';

// Leading blanks and comments, which a raw statement may start with.
const LEADING = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const FIRST_WORDS = /^([A-Za-z]+)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?/;
const NO_TRANSACTION =
  /^(?:vacuum\b|alter\s+system\b|(?:create|drop)\s+(?:database|tablespace)\b|(?:create|drop)\s+(?:unique\s+)?index\s+concurrently\b|reindex\b[^;]*\b(?:concurrently|system|database)\b|cluster\s*;?\s*$|discard\s+all\b|(?:create|alter|drop)\s+subscription\b|(?:commit|rollback)\s+prepared\b)/i;

export function statementKind(sql: string): StatementKind {
  // The common case first: Knex's own DML starts with one of these, with no comment before.
  const c = sql.charCodeAt(0) | 0x20;
  if (c === 0x73 /* s */ && /^(select|set)\b/i.test(sql)) return 'plain';
  if (c === 0x69 /* i */ || c === 0x75 /* u */ || c === 0x64 /* d */ || c === 0x77 /* w */) {
    if (/^(insert|update|delete|with)\b/i.test(sql)) return 'plain';
  }
  const text = sql.replace(LEADING, '');
  const m = FIRST_WORDS.exec(text);
  if (!m) return 'plain';
  const first = (m[1] as string).toLowerCase();
  const second = m[2]?.toLowerCase();
  switch (first) {
    case 'begin':
      return 'begin';
    case 'start':
      return second === 'transaction' ? 'begin' : 'plain';
    case 'commit':
    case 'end':
    case 'abort':
      return second === 'prepared' ? 'no-transaction' : 'end';
    case 'rollback': {
      if (second === 'prepared') return 'no-transaction';
      // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name
      const to = second === 'work' || second === 'transaction' ? m[3]?.toLowerCase() : second;
      return to === 'to' ? 'rollback-to' : 'end';
    }
    case 'prepare':
      return second === 'transaction' ? 'end' : 'plain';
    case 'savepoint':
    case 'release':
      return 'savepoint';
    default:
      return NO_TRANSACTION.test(text) ? 'no-transaction' : 'plain';
  }
}
