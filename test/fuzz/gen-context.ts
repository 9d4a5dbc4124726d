// The generation context: fast-check's imperative generator (so later choices can depend on
// earlier ones: visible columns, types, aliases) plus the dialect and what the case expects.
// Every choice is an integer that shrinks towards 0, and 0 is always the simplest choice.
import fc from 'fast-check';
import type { Dialect } from '../support/databases';
import type { ColRef } from './ast';
import {
  type OracleScope,
  type Row,
  SCOPED_TABLES,
  type Scalar,
  SEED,
  seedOwner,
  seedValues,
  standing,
  type Ty,
  UNSCOPED_TABLES,
} from './world';

/**
 * Why a scoped run may be refused by design (the refusal is then expected, not questionable).
 * refusals.ts says which of them must be refused, and with which codes.
 */
export type Expectation =
  /** Raw SQL whose text (or identifier bindings) reads a scoped table. */
  | 'raw-scoped'
  /** A builder CTE (`with()`) named like a scoped table. */
  | 'cte-shadow'
  /** A scoped table aliased with a dot (`pages as public.pages`): a column string names another table. */
  | 'dotted-alias'
  /** A CTE in raw text named like a scoped table, around a filtered builder. */
  | 'raw-cte-shadow'
  | 'insert-select'
  | 'mysql-merge'
  /** MySQL's `upsert()` (REPLACE INTO) into a scoped table. */
  | 'mysql-upsert'
  /** A multi-row SQLite upsert into a scoped table, on a Knex that compiles it without its guard. */
  | 'merge-where-dropped'
  | 'scope-increment'
  /** A raw value for a scope column or an FK-path key (refused unless the dimension is ALL). */
  | 'raw-key'
  /** A raw INSERT body into a scoped table (refused unless every dimension is ALL). */
  | 'raw-insert'
  /** A payload naming a scope column twice, in two letter cases. */
  | 'case-duplicate'
  /** An unbalanced raw (a stray `)`, a trailing comment): refused, failed, or still filtered. */
  | 'unbalanced'
  /**
   * Raw text a reader may take for more than it is (a MySQL executable comment, a quote escaped
   * with a backslash): refusing it whatever it names is fail-closed.
   */
  | 'raw-odd'
  /** A builder value (WHERE, IN list, ON, SET, INSERT, merge) carrying `toSqlString()` (c11): UNSUPPORTED_QUERY. */
  | 'sql-string'
  /** A raw's `?` binding carrying `toSqlString()` (c11): RAW_SQL_REFUSED. */
  | 'sql-string-binding';

/**
 * The attack classes of issue 21 a case exercises (`class:detail`), counted per run and
 * selectable with FUZZ_FOCUS. c1 upserts, c2 column-name case variants, c3 raw insert bodies
 * and raw key values, c4 raw fragments in builder slots, c5 identifier bindings in raws,
 * c6 table references in raw SQL text, c7 CTE names and aliases, c8 unbalanced raws; c9
 * joins along FK paths, where a join may imply a path filter (implied-filters.ts) or may not;
 * and c10 comma joins (`from({ a: 't1', b: 't2' })`, `from(['t1', 't2'])`) and subqueries
 * that take an enclosing query's alias again or refer to its columns, qualified or not (where
 * a filter placed by the name of its table's qualifier may bind to another query level); c11
 * bound values carrying `toSqlString()`, which mysql2 splices into the SQL unescaped
 * (gen-sql-string.ts).
 */
export type AttackClass = 'c1' | 'c2' | 'c3' | 'c4' | 'c5' | 'c6' | 'c7' | 'c8' | 'c9' | 'c10' | 'c11';

const STRINGS = ['alpha', 'beta', 'design', 'open', 'done', 'todo', 'idea', 'u1', 'u2', 'looks good', 'zzz', ''];
const INTS = [0, 1, 2, 3, 4, 5, 11, 12, 21, 31, 100, 101, 201, 300, 501, 1001];

export interface GenOptions {
  /**
   * Only tables the policy does not declare, and no fragment naming a scoped table (the
   * transparency property: such queries must compile exactly as with plain Knex).
   */
  readonly unscopedOnly?: boolean;
}

export class Gen {
  private aliases = 0;
  readonly expect = new Set<Expectation>();
  readonly tags = new Set<string>();
  readonly unscopedOnly: boolean;
  /** The case's scope, drawn first: upserts aim at rows inside it, or outside it. */
  scope: OracleScope['values'] | undefined;
  /** A value carrying `toSqlString()` (c11) was placed: one per case, so its slot decides the code. */
  sqlStringPlaced = false;

  constructor(
    private readonly g: fc.GeneratorValue,
    readonly dialect: Dialect,
    options: GenOptions = {},
  ) {
    this.unscopedOnly = options.unscopedOnly ?? false;
  }

  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  /** True with `percent` % probability; shrinks to false. */
  chance(percent: number): boolean {
    return this.int(0, 99) >= 100 - percent;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(0, items.length - 1)] as T;
  }

  alias(): string {
    return `a${this.aliases++}`;
  }

  /** Records that the case exercises an attack class of issue 21. */
  tag(cls: AttackClass, detail: string): void {
    this.tags.add(`${cls}:${detail}`);
  }

  /** Tables a read may use: the scoped ones first and twice (most queries should be about them). */
  get readTables(): readonly string[] {
    return this.unscopedOnly ? UNSCOPED_TABLES : [...SCOPED_TABLES, ...SCOPED_TABLES, ...UNSCOPED_TABLES];
  }

  /** True when a generator may name a scoped table in raw SQL (a must-refuse flavour). */
  scopedRaw(percent: number): boolean {
    return !this.unscopedOnly && this.chance(percent);
  }

  /** A value of the column's type, usually one that occurs in its seeded column. */
  value(c: ColRef): Scalar {
    if (c.from && this.chance(75)) {
      const [table, column] = c.from.split('.') as [string, string];
      const seeded = seedValues(table, column).filter((v) => v !== null);
      if (seeded.length > 0) return this.pick(seeded);
    }
    return this.literal(c.ty);
  }

  /** A seeded row of the table, inside the case's scope (`in`) or outside it (`out`) when there is one. */
  seededRow(table: string, where: 'in' | 'out'): Row | undefined {
    const rows = SEED[table] ?? [];
    const scope = this.scope;
    const wanted = scope
      ? rows.filter((r) => (standing(seedOwner(table, r), scope) === 'in') === (where === 'in'))
      : [];
    const from = wanted.length > 0 ? wanted : rows;
    return from.length > 0 ? this.pick(from) : undefined;
  }

  literal(ty: Ty): Scalar {
    return ty === 'int' ? this.pick(INTS) : this.pick(STRINGS);
  }
}

export const columnsOfType = (cols: readonly ColRef[], ty: Ty) => cols.filter((c) => c.ty === ty);
