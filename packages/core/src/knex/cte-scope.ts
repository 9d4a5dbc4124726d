// Which CTE names shadow a scoped table where. A reference to `pages` inside
// `with pages as (…) select … from pages` means the CTE (whose body is filtered on its own), but
// inside the CTE's own body it means the real table unless the WITH is recursive.
import type { Frame } from './compile-run';
import type { BuilderLike, Statement } from './knex-internals';
import type { TableMatcher } from './table-names';

/** Set by a parent's rewrite on a CTE body: the shadowing names visible inside it (null: none). */
export const CTE_VISIBLE: unique symbol = Symbol('knex-scopes.cteVisible');

export interface CteScope {
  /** Names that shadow scoped tables in this builder's own FROM/JOINs and its subqueries. */
  readonly main: ReadonlySet<string> | undefined;
  /** For each WITH statement index whose body needs its own view: the names visible in it. */
  readonly bodies: ReadonlyMap<number, ReadonlySet<string> | null> | undefined;
}

function union(a: ReadonlySet<string> | undefined, names: readonly string[]): ReadonlySet<string> | undefined {
  if (names.length === 0) return a;
  const out = new Set(a);
  for (const n of names) out.add(n);
  return out;
}

export function cteScopeFor(builder: BuilderLike, outer: Frame | undefined, matcher: TableMatcher): CteScope {
  const marker = (builder as unknown as Record<symbol, ReadonlySet<string> | null | undefined>)[CTE_VISIBLE];
  const inherited = marker !== undefined ? (marker ?? undefined) : outer?.ctes;
  const withs: Array<{ index: number; name: string | undefined; recursive: boolean }> = [];
  const statements = builder._statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping !== 'with') continue;
    const alias = typeof s.alias === 'string' ? s.alias.trim() : undefined;
    const shadows = alias !== undefined && matcher.match(alias) !== undefined;
    withs.push({ index: i, name: shadows ? alias.toLowerCase() : undefined, recursive: s.recursive === true });
  }
  const own = withs.flatMap((w) => (w.name ? [w.name] : []));
  if (own.length === 0) return { main: inherited, bodies: undefined };
  const recursive = withs.some((w) => w.recursive);
  const bodies = new Map<number, ReadonlySet<string> | null>();
  const before: string[] = [];
  for (const w of withs) {
    const visible = union(inherited, recursive ? own : before);
    bodies.set(w.index, visible ?? null);
    if (w.name) before.push(w.name);
  }
  return { main: union(inherited, own), bodies };
}
