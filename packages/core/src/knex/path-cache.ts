// The SQL of an FK path's filtered subquery depends only on the path, the schema and the shape
// of the scope value (one key, or n keys), so it is compiled once per wrapped instance and
// reused as a raw with fresh bindings: FK paths then cost what a hand-written subquery costs.
import type { ScopeKey } from '../scope-values';
import { CompileRun, type ScopedPolicy, withRun } from './compile-run';
import type { ClientLike } from './knex-internals';
import { PATH_JOIN_KEY } from './path-joins';
import { type Filter, parentKeys } from './predicates';

const LIMIT = 500;

export class PathCache {
  private readonly sql = new Map<string, string>();

  constructor(private readonly policy: ScopedPolicy) {}

  /** The filtered `select parent.key from parent …` for this filter, as a raw. */
  subquery = (
    client: ClientLike,
    f: Filter & { rule: { kind: 'path' } },
    schema: string | undefined,
    materialize = false,
  ): unknown => {
    const keys = keysOf(f);
    const sql = this.template(client, f, schema, keys, materialize);
    return sql === undefined ? parentKeys(client, f.rule, schema) : client.raw(sql, [...keys]);
  };

  /** The same keys as a derived table of one column (path-joins.ts); undefined when not cached. */
  joinTable = (
    client: ClientLike,
    f: Filter & { rule: { kind: 'path' } },
    schema: string | undefined,
    alias: string,
  ): unknown => {
    const keys = keysOf(f);
    const sql = this.template(client, f, schema, keys, false);
    return sql === undefined ? undefined : client.raw(`(${sql}) as "${alias}" ("${PATH_JOIN_KEY}")`, [...keys]);
  };

  private template(
    client: ClientLike,
    f: Filter & { rule: { kind: 'path' } },
    schema: string | undefined,
    keys: readonly ScopeKey[],
    materialize: boolean,
  ): string | undefined {
    const shape = Array.isArray(f.value) ? `a${keys.length}` : 's';
    const key = `${f.rule.parentTable}\u0000${f.rule.parentKey}\u0000${f.rule.dimension}\u0000${schema ?? ''}\u0000${shape}${materialize ? 'm' : ''}`;
    let sql = this.sql.get(key);
    if (sql === undefined) {
      const compiled = this.compile(client, f, schema, keys.length, Array.isArray(f.value));
      if (compiled === undefined) return undefined;
      // a derived table with a LIMIT is materialised, never merged (see rewrite.ts)
      sql = materialize ? `select * from (${compiled} limit ${Number.MAX_SAFE_INTEGER}) as ks_materialized` : compiled;
      if (this.sql.size >= LIMIT) this.sql.clear();
      this.sql.set(key, sql);
    }
    return sql;
  }

  private compile(
    client: ClientLike,
    f: Filter & { rule: { kind: 'path' } },
    schema: string | undefined,
    n: number,
    isArray: boolean,
  ): string | undefined {
    // Compile with sentinel keys, in a run whose scope holds only this dimension.
    const sentinel = isArray ? Array.from({ length: n }, (_, i) => i + 1) : 1;
    const state = Object.freeze({ enabled: true, values: Object.freeze({ [f.rule.dimension]: sentinel }) });
    const run = new CompileRun(this.policy, undefined, undefined, state);
    const query = withRun(run, () => client.queryCompiler(parentKeys(client, f.rule, schema)).toSQL()) as {
      sql: string;
      bindings: unknown[];
    };
    // Only cache when the bindings are exactly the sentinels: then the SQL is a pure template.
    const expected = isArray ? (sentinel as number[]) : [sentinel];
    const same = query.bindings.length === expected.length && query.bindings.every((b, i) => b === expected[i]);
    return same && n > 0 ? query.sql : undefined;
  }
}

function keysOf(f: Filter): readonly ScopeKey[] {
  return Array.isArray(f.value) ? (f.value as readonly ScopeKey[]) : [f.value as ScopeKey];
}
