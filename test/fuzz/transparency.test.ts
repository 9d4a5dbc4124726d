// Transparency (issue 21): a query that touches only tables the policy does not declare (tags,
// statuses, audit: an undeclared table with a tenant_id of its own) compiles through the scoped
// instance exactly as through plain Knex, inside any scope: the same SQL and bindings, byte for
// byte, native placeholders included, on every dialect. The fuzzer's generators make the queries
// (raw fragments in every slot, identifier bindings, raw statements, CTEs, aliases named like
// scoped tables, writes); no database is needed, only toSQL(). A refusal is accepted only where
// it is one by design whatever the table (`raw-odd`: an executable comment, a U&"…" name).
import assert from 'node:assert/strict';
import { defineScopes, isScopeError, scope } from '@knex-scopes/core';
import fc from 'fast-check';
import knex, { type Knex } from 'knex';
import type { Dialect } from '../support/databases';
import { type Case, caseArbitrary, printCase } from './cases';
import { expectedRefusal } from './refusals';
import { renderRead, renderWrite } from './render';
import { DECLARATION, ORACLE_SCOPES } from './world';

const CASES = Number(process.env.TRANSPARENCY_CASES ?? 1500);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);

const CLIENTS: Record<Dialect, string> = { sqlite: 'better-sqlite3', pg: 'pg', mysql: 'mysql2' };

interface Compiled {
  readonly sql: string;
  readonly bindings: readonly unknown[];
  readonly native: { readonly sql: string; readonly bindings: readonly unknown[] } | undefined;
}

type SqlLike = Knex.Sql & { toNative?: () => Knex.SqlNative };

function compile(db: Knex, c: Case): Compiled[] {
  const builder = c.op.k === 'read' ? renderRead(db, c.op.q) : renderWrite(db, c.op.w);
  const out = builder.toSQL() as SqlLike | SqlLike[];
  return (Array.isArray(out) ? out : [out]).map((q) => {
    const native = q.toNative?.();
    return {
      sql: q.sql,
      bindings: [...(q.bindings ?? [])],
      native: native ? { sql: native.sql, bindings: [...native.bindings] } : undefined,
    };
  });
}

describe('transparency: queries on undeclared tables compile as with plain Knex', () => {
  for (const [dialect, client] of Object.entries(CLIENTS) as [Dialect, string][]) {
    it(`${CASES} generated queries on ${dialect} (seed ${SEED})`, function () {
      this.timeout(120_000);
      const plain = knex({ client, useNullAsDefault: true });
      const scoped = defineScopes({ tables: DECLARATION }).wrap(knex({ client, useNullAsDefault: true }));
      const refused = new Map<string, number>();
      const tags = new Set<string>();
      fc.assert(
        fc.property(caseArbitrary(dialect, { unscopedOnly: true }), (c) => {
          for (const t of c.tags) tags.add(t.split(':')[0]!);
          const expected = compile(plain, c);
          let actual: Compiled[];
          try {
            actual = scope(ORACLE_SCOPES[c.scope]!.values, () => compile(scoped, c));
          } catch (error) {
            if (isScopeError(error) && expectedRefusal(c, error.code) && c.expect.has('raw-odd')) {
              refused.set(error.code, (refused.get(error.code) ?? 0) + 1);
              return;
            }
            throw new Error(`${printCase(c)}\nthe scoped instance failed: ${(error as Error).message}`);
          }
          assert.deepEqual(actual, expected, printCase(c));
        }),
        { numRuns: CASES, seed: SEED },
      );
      const refusals = [...refused].map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
      console.log(
        `      [transparency] ${dialect}: ${CASES} cases, seed ${SEED}, identical SQL and bindings; ` +
          `refused by design: ${refusals}; issue-21 classes: ${[...tags].sort().join(', ')}`,
      );
    });
  }
});
