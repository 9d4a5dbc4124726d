// The static Citus router check (docs/citus.md; research rls-citus.md §2.5): does one PostgreSQL
// statement pin every reference to a distributed table to the scope's tenant, so that Citus can
// send it to one shard? Read with the real parser, conservatively:
// - only top-level AND conjuncts count, in WHERE and in JOIN ON (anything under OR or NOT is
//   ignored); `col = <literal or $n>` and a one-element `col IN (x)` pin a column, `a = b` ties two;
// - a conjunct pins only the references it filters: WHERE filters every table of its query level,
//   an inner join's ON the tables under the join, a left join's ON its right side only (right join:
//   left side; full join: neither). A pin flows along `a = b` into a reference the conjunct filters;
// - subqueries, EXISTS/IN sublinks, CTEs and UNION arms are levels of their own whose references
//   must be pinned in turn; a correlated `i.tenant_id = o.tenant_id` reads the outer reference, so
//   the outer pin reaches the inner one, never the other way;
// - INSERT must give the tenant column, as the scope's value; UPDATE must not change it (Citus
//   accepts `SET col = col`, and `SET col = <the value WHERE pins it to>`); an upsert's DO UPDATE
//   may only set it to `excluded.col` (or `col`).
import {
  absentRowTest,
  columnRef,
  conjuncts,
  type Fields,
  forEachSubquery,
  listOf,
  nodeOf,
  operatorOf,
  parseStatements,
  relationNames,
  stringOf,
  typeOf,
  type ValueNode,
  valueNode,
} from './pg-ast';

/** A tenant column of a distributed table: the dimension, and the column as the SQL spells it (lower case). */
export interface TenantColumn {
  readonly dimension: string;
  readonly column: string;
}

export interface RouterRules {
  /** The tenant columns of a distributed table, by its name in the SQL; undefined for any other table. */
  distributed(table: string): readonly TenantColumn[] | undefined;
  /** The scope the statement ran under: one key per dimension that must be pinned. */
  readonly scope: Readonly<Record<string, string | number | bigint>>;
}

export interface RouterFinding {
  /** The table as the SQL names it, and the alias of the reference. */
  readonly table: string;
  readonly alias: string;
  readonly problem: string;
  /**
   * Set for the one shape the library sends on purpose without `colocateJoins`, rather than a
   * missing filter: `presence-aware`, a reference filtered to the scope only by
   * `(t.tenant_id = 1) or (t.*) is null`, which a PostgreSQL full outer join that keeps its tables
   * needs (so that `select t.* … group by t.id` stays valid, docs/filtering.md), and which no
   * planner can prune by. With `colocateJoins` such a join uses filtered derived tables instead.
   */
  readonly known?: 'presence-aware';
}

/**
 * Rules from a defineScopes-style declaration: a table with a direct column (`tenant: 'tenant_id'`)
 * is distributed by it; a path table (`'page_id -> pages.tenant_id'`) carries no tenant column and
 * cannot be distributed by tenant, so it is not checked.
 */
export function rulesFor(
  tables: Readonly<Record<string, Readonly<Record<string, string>>>>,
  scope: RouterRules['scope'],
): RouterRules {
  const byName = new Map<string, TenantColumn[]>();
  for (const [table, declaration] of Object.entries(tables)) {
    const columns = Object.entries(declaration)
      .filter(([, path]) => !path.includes('->'))
      .map(([dimension, column]) => ({ dimension, column: column.trim().toLowerCase() }));
    if (columns.length > 0) byName.set(table.toLowerCase(), columns);
  }
  return { distributed: (table) => byName.get(table.toLowerCase()), scope };
}

interface Reference {
  readonly id: number;
  readonly alias: string;
  /** The table's name; undefined for a subquery, a CTE or a function in FROM. */
  readonly table: string | undefined;
  readonly tenant: readonly TenantColumn[] | undefined;
  /** INSERT's target is checked on its column list, not on pins. */
  readonly inserted: boolean;
}

class Level {
  readonly refs: Reference[] = [];
  constructor(
    /** The level correlated references read (undefined at the top, and for non-LATERAL FROM subqueries' own). */
    readonly outer: Level | undefined,
    readonly ctes: ReadonlySet<string>,
  ) {}
}

interface Column {
  readonly ref: Reference;
  readonly column: string;
}

/** One usable conjunct: a pin (`col = value`) or a tie (`a = b`), and the references it filters. */
type Conjunct =
  | { readonly kind: 'pin'; readonly filters: ReadonlySet<number>; readonly col: Column; readonly value: string }
  | { readonly kind: 'tie'; readonly filters: ReadonlySet<number>; readonly a: Column; readonly b: Column };

const keyOf = (c: Column) => `${c.ref.id}.${c.column}`;
const fold = (name: string) => name.toLowerCase();

class Analysis {
  private nextId = 0;
  readonly refs: Reference[] = [];
  readonly conjuncts: Conjunct[] = [];
  readonly findings: RouterFinding[] = [];
  /** Columns a WHERE filters with `(col = value …) or (t.*) is null`, and the values. */
  private readonly presenceAware = new Map<string, Set<string>>();
  /** Checks that need the pins: run once every level has been read. */
  private readonly deferred: Array<(pinned: ReadonlyMap<string, ReadonlySet<string>>) => void> = [];

  constructor(
    private readonly rules: RouterRules,
    private readonly bindings: readonly unknown[],
  ) {}

  // ---- statements --------------------------------------------------------------------------

  statement(node: unknown, outer: Level | undefined, ctes: ReadonlySet<string>): void {
    const type = typeOf(node);
    const fields = type === undefined ? undefined : nodeOf(node, type);
    if (!fields) return;
    if (type === 'SelectStmt') this.select(fields, outer, ctes);
    else if (type === 'InsertStmt') this.insert(fields, outer, ctes);
    else if (type === 'UpdateStmt') this.update(fields, outer, ctes);
    else if (type === 'DeleteStmt') this.delete(fields, outer, ctes);
    else {
      for (const name of relationNames(fields)) {
        if (this.rules.distributed(name)) {
          this.findings.push({ table: name, alias: name, problem: `a ${type} statement is not analysed` });
        }
      }
    }
  }

  /** Registers the CTEs of a WITH and reads their queries; returns the names in scope after it. */
  private withClause(clause: unknown, outer: Level | undefined, ctes: ReadonlySet<string>): ReadonlySet<string> {
    const ctesList = listOf((clause as Fields | undefined)?.ctes);
    if (ctesList.length === 0) return ctes;
    const names = new Set(ctes);
    const bodies: unknown[] = [];
    for (const cte of ctesList) {
      const fields = nodeOf(cte, 'CommonTableExpr');
      if (typeof fields?.ctename === 'string') names.add(fields.ctename);
      bodies.push(fields?.ctequery);
    }
    for (const body of bodies) this.statement(body, outer, names);
    return names;
  }

  /** A SELECT (or a set operation of them); returns its level, undefined for a set operation. */
  private select(stmt: Fields, outer: Level | undefined, ctes: ReadonlySet<string>): Level | undefined {
    const names = this.withClause(stmt.withClause, outer, ctes);
    if (stmt.op !== undefined && stmt.op !== 'SETOP_NONE') {
      this.statement(stmt.larg === undefined ? undefined : { SelectStmt: stmt.larg }, outer, names);
      this.statement(stmt.rarg === undefined ? undefined : { SelectStmt: stmt.rarg }, outer, names);
      const around = new Level(outer, names);
      for (const clause of [stmt.sortClause, stmt.limitCount, stmt.limitOffset]) this.subqueries(clause, around);
      return undefined;
    }
    const level = new Level(outer, names);
    for (const item of listOf(stmt.fromClause)) this.fromItem(item, level);
    this.where(stmt.whereClause, level);
    for (const clause of [
      stmt.targetList,
      stmt.distinctClause,
      stmt.groupClause,
      stmt.havingClause,
      stmt.windowClause,
      stmt.sortClause,
      stmt.limitCount,
      stmt.limitOffset,
      stmt.valuesLists,
    ]) {
      this.subqueries(clause, level);
    }
    return level;
  }

  private insert(stmt: Fields, outer: Level | undefined, ctes: ReadonlySet<string>): void {
    const names = this.withClause(stmt.withClause, outer, ctes);
    const level = new Level(outer, names);
    const target = this.relation(stmt.relation, level, true);
    const columns = listOf(stmt.cols).map((c) => {
      const name = nodeOf(c, 'ResTarget')?.name;
      return typeof name === 'string' ? fold(name) : '';
    });
    const source = nodeOf(stmt.selectStmt, 'SelectStmt');
    const isValues = source !== undefined && listOf(source.valuesLists).length > 0;
    let sourceLevel: Level | undefined;
    if (source && isValues) this.subqueries(source.valuesLists, level);
    else if (source) sourceLevel = this.select(source, undefined, names);

    this.register(level, 'excluded', undefined, undefined, true); // the row an upsert proposed
    const conflict = stmt.onConflictClause as Fields | undefined;
    this.subqueries(conflict?.whereClause, level);
    this.subqueries(conflict?.targetList, level);
    this.subqueries(stmt.returningList, level);

    for (const tenant of this.required(target)) {
      const index = columns.indexOf(tenant.column);
      const fail = (problem: string) => this.findings.push(finding(target, problem));
      if (columns.length === 0) {
        fail(`INSERT without a column list: ${tenant.column} cannot be seen`);
        continue;
      }
      if (index === -1) {
        fail(`INSERT does not give ${tenant.column}`);
        continue;
      }
      const expected = String(this.rules.scope[tenant.dimension]);
      if (source && isValues) {
        listOf(source.valuesLists).forEach((row, r) => {
          const value = this.value(listOf(nodeOf(row, 'List')?.items)[index]);
          if (value !== expected) {
            fail(
              `INSERT row ${r + 1} gives ${tenant.column} = ${value ?? 'a non-constant'}, not the scope's ${expected}`,
            );
          }
        });
      } else if (source && sourceLevel) {
        const item = nodeOf(listOf(source.targetList)[index], 'ResTarget')?.val;
        const value = this.value(item);
        const column = value === undefined ? this.column(item, sourceLevel) : undefined;
        if (column) {
          this.deferred.push((pinned) => {
            const values = pinned.get(keyOf(column));
            if (values?.size !== 1 || !values.has(expected)) {
              fail(`INSERT … SELECT gives ${tenant.column} from a column not pinned to the scope's ${expected}`);
            }
          });
        } else if (value !== expected) {
          fail(`INSERT … SELECT gives ${tenant.column} = ${value ?? 'an expression'}, not the scope's ${expected}`);
        }
      } else {
        fail(`INSERT source cannot be read (a set operation or DEFAULT VALUES): ${tenant.column} cannot be seen`);
      }
      for (const set of listOf(conflict?.targetList)) {
        const assignment = nodeOf(set, 'ResTarget');
        if (typeof assignment?.name !== 'string' || fold(assignment.name) !== tenant.column) continue;
        const assigned = columnRef(assignment.val);
        if (assigned && fold(assigned[assigned.length - 1] as string) === tenant.column) continue;
        const value = this.value(assignment.val);
        const problem = `ON CONFLICT DO UPDATE sets ${tenant.column}${value === undefined ? '' : ` = ${value}`}, not excluded.${tenant.column}`;
        fail(problem);
      }
    }
  }

  private update(stmt: Fields, outer: Level | undefined, ctes: ReadonlySet<string>): void {
    const names = this.withClause(stmt.withClause, outer, ctes);
    const level = new Level(outer, names);
    const target = this.relation(stmt.relation, level, false);
    for (const item of listOf(stmt.fromClause)) this.fromItem(item, level);
    const direct = this.where(stmt.whereClause, level);
    this.subqueries(stmt.targetList, level);
    this.subqueries(stmt.returningList, level);
    for (const tenant of this.required(target)) {
      const expected = String(this.rules.scope[tenant.dimension]);
      for (const set of listOf(stmt.targetList)) {
        const assignment = nodeOf(set, 'ResTarget');
        if (typeof assignment?.name !== 'string' || fold(assignment.name) !== tenant.column) continue;
        const same = columnRef(assignment.val);
        if (same && fold(same[same.length - 1] as string) === tenant.column) continue; // SET col = col
        const value = this.value(assignment.val);
        const guarded = direct.some((p) => p.col.ref === target && p.col.column === tenant.column && p.value === value);
        if (value === expected && guarded) continue; // Citus: the WHERE implies the same value
        this.findings.push(
          finding(
            target,
            `UPDATE sets ${tenant.column}${value === undefined ? '' : ` = ${value}`}` +
              (value === expected ? ' without a WHERE that pins it to that value' : ''),
          ),
        );
      }
    }
  }

  private delete(stmt: Fields, outer: Level | undefined, ctes: ReadonlySet<string>): void {
    const names = this.withClause(stmt.withClause, outer, ctes);
    const level = new Level(outer, names);
    this.relation(stmt.relation, level, false);
    for (const item of listOf(stmt.usingClause)) this.fromItem(item, level);
    this.where(stmt.whereClause, level);
    this.subqueries(stmt.returningList, level);
  }

  // ---- FROM --------------------------------------------------------------------------------

  private register(
    level: Level,
    alias: string,
    table: string | undefined,
    tenant: readonly TenantColumn[] | undefined,
    inserted: boolean,
  ): Reference {
    const ref: Reference = { id: this.nextId++, alias, table, tenant, inserted };
    level.refs.push(ref);
    this.refs.push(ref);
    return ref;
  }

  /** A RangeVar (unwrapped): a table, or a CTE of that name. */
  private relation(range: unknown, level: Level, inserted: boolean): Reference {
    const fields = range as Fields;
    const name = String(fields.relname);
    const alias =
      typeof (fields.alias as Fields | undefined)?.aliasname === 'string'
        ? String((fields.alias as Fields).aliasname)
        : name;
    if (fields.schemaname === undefined && level.ctes.has(name))
      return this.register(level, alias, undefined, undefined, false);
    return this.register(level, alias, name, this.rules.distributed(name), inserted);
  }

  /** Registers a FROM item and reads its join conditions; returns the ids of the references under it. */
  private fromItem(item: unknown, level: Level): number[] {
    const range = nodeOf(item, 'RangeVar');
    if (range) return [this.relation(range, level, false).id];
    const sample = nodeOf(item, 'RangeTableSample');
    if (sample) return this.fromItem(sample.relation, level);
    const sub = nodeOf(item, 'RangeSubselect');
    if (sub) {
      // A FROM subquery sees the outer levels; LATERAL also this level's earlier items.
      this.statement(sub.subquery, sub.lateral === true ? level : level.outer, level.ctes);
      const alias = String((sub.alias as Fields | undefined)?.aliasname ?? '');
      return [this.register(level, alias, undefined, undefined, false).id];
    }
    const fn = nodeOf(item, 'RangeFunction');
    if (fn) {
      this.subqueries(fn.functions, level);
      const alias = String((fn.alias as Fields | undefined)?.aliasname ?? '');
      return [this.register(level, alias, undefined, undefined, false).id];
    }
    const join = nodeOf(item, 'JoinExpr');
    if (!join) return [];
    const left = this.fromItem(join.larg, level);
    const right = this.fromItem(join.rarg, level);
    const filters = new Set(
      join.jointype === 'JOIN_INNER'
        ? [...left, ...right]
        : join.jointype === 'JOIN_LEFT'
          ? right
          : join.jointype === 'JOIN_RIGHT'
            ? left
            : [],
    );
    if (join.isNatural !== true) {
      this.conditions(join.quals, level, filters);
      for (const using of listOf(join.usingClause)) {
        const name = stringOf(using);
        if (name === undefined) continue;
        const a = this.usingSide(left, level, fold(name));
        const b = this.usingSide(right, level, fold(name));
        if (a && b) this.conjuncts.push({ kind: 'tie', filters, a, b });
      }
    }
    this.subqueries(join.quals, level);
    return [...left, ...right];
  }

  /** The one reference of a join side that a USING column belongs to, when it can be told. */
  private usingSide(ids: readonly number[], level: Level, column: string): Column | undefined {
    const refs = level.refs.filter((r) => ids.includes(r.id));
    const declaring = refs.filter((r) => r.tenant?.some((t) => t.column === column));
    const ref = declaring.length === 1 ? declaring[0] : refs.length === 1 ? refs[0] : undefined;
    return ref ? { ref, column } : undefined;
  }

  // ---- conditions --------------------------------------------------------------------------

  /** A WHERE: filters every reference of its level. Returns its own pins (UPDATE's guard reads them). */
  private where(expr: unknown, level: Level): Array<Extract<Conjunct, { kind: 'pin' }>> {
    const before = this.conjuncts.length;
    const all = new Set(level.refs.map((r) => r.id));
    this.conditions(expr, level, all);
    this.presenceFilters(expr, level);
    this.subqueries(expr, level);
    return this.conjuncts.slice(before).filter((c): c is Extract<Conjunct, { kind: 'pin' }> => c.kind === 'pin');
  }

  /** Records the `(pins of t) or (t.*) is null` conjuncts of a WHERE (they pin nothing). */
  private presenceFilters(expr: unknown, level: Level): void {
    for (const conjunct of conjuncts(expr)) {
      const or = nodeOf(conjunct, 'BoolExpr');
      const args = listOf(or?.args);
      if (or?.boolop !== 'OR_EXPR' || args.length !== 2) continue;
      const qualifier = absentRowTest(args[1]);
      if (qualifier === undefined) continue;
      const scratch = new Analysis(this.rules, this.bindings);
      scratch.conditions(args[0], level, new Set(level.refs.map((r) => r.id)));
      for (const c of scratch.conjuncts) {
        if (c.kind !== 'pin' || c.col.ref.alias !== qualifier) continue;
        const key = keyOf(c.col);
        this.presenceAware.set(key, (this.presenceAware.get(key) ?? new Set()).add(c.value));
      }
    }
  }

  private conditions(expr: unknown, level: Level, filters: ReadonlySet<number>): void {
    for (const conjunct of conjuncts(expr)) {
      const op = nodeOf(conjunct, 'A_Expr');
      if (!op || operatorOf(op) !== '=') continue;
      let right: unknown;
      if (op.kind === 'AEXPR_OP') right = op.rexpr;
      else if (op.kind === 'AEXPR_IN') {
        const items = listOf(nodeOf(op.rexpr, 'List')?.items);
        if (items.length !== 1) continue; // IN (1, 2) reaches several shards
        right = items[0];
      } else continue; // = ANY(…), IS NOT DISTINCT FROM, …
      this.equality(op.lexpr, right, level, filters);
    }
  }

  private equality(left: unknown, right: unknown, level: Level, filters: ReadonlySet<number>): void {
    const a = this.column(left, level);
    const b = this.column(right, level);
    if (a && b) {
      this.conjuncts.push({ kind: 'tie', filters, a, b });
      return;
    }
    const col = a ?? b;
    const value = this.value(a ? right : left);
    if (col && value !== undefined) this.conjuncts.push({ kind: 'pin', filters, col, value });
  }

  /** Reads the subqueries of an expression as levels of their own, correlated to `level`. */
  private subqueries(expr: unknown, level: Level): void {
    forEachSubquery(expr, (query) => this.statement(query, level, level.ctes));
  }

  // ---- names and values ----------------------------------------------------------------------

  /** The reference and column a column reference means, when it can be told without the catalog. */
  private column(node: unknown, level: Level): Column | undefined {
    const parts = columnRef(node);
    if (!parts) return undefined;
    const column = fold(parts[parts.length - 1] as string);
    if (parts.length >= 2) {
      const qualifier = parts[parts.length - 2] as string;
      for (let l: Level | undefined = level; l; l = l.outer) {
        const ref = [...l.refs].reverse().find((r) => r.alias === qualifier);
        if (ref) return { ref, column };
      }
      return undefined;
    }
    for (let l: Level | undefined = level; l; l = l.outer) {
      const declaring = l.refs.filter((r) => r.tenant?.some((t) => t.column === column));
      if (declaring.length === 1) return { ref: declaring[0] as Reference, column };
      if (l.refs.length === 1) return { ref: l.refs[0] as Reference, column };
      if (l.refs.length > 1) return undefined; // ambiguous without the catalog
    }
    return undefined;
  }

  /** A literal's text or a parameter's bound value, as a string. */
  private value(node: unknown): string | undefined {
    const v: ValueNode | undefined = valueNode(node);
    if (!v) return undefined;
    if ('literal' in v) return v.literal;
    const bound = this.bindings[v.param - 1];
    return bound === undefined || bound === null ? undefined : String(bound);
  }

  /** The tenant columns of a distributed reference the scope pins. */
  required(ref: Reference): TenantColumn[] {
    return (ref.tenant ?? []).filter((t) => this.rules.scope[t.dimension] !== undefined);
  }

  // ---- verdict -------------------------------------------------------------------------------

  /** Pins flow from the conjuncts into the references they filter, along ties, to a fixed point. */
  pins(): Map<string, Set<string>> {
    const pinned = new Map<string, Set<string>>();
    const add = (col: Column, values: Iterable<string>): boolean => {
      const key = keyOf(col);
      const set = pinned.get(key) ?? new Set<string>();
      pinned.set(key, set);
      const size = set.size;
      for (const v of values) set.add(v);
      return set.size !== size;
    };
    for (const c of this.conjuncts) if (c.kind === 'pin' && c.filters.has(c.col.ref.id)) add(c.col, [c.value]);
    for (let changed = true; changed; ) {
      changed = false;
      for (const c of this.conjuncts) {
        if (c.kind !== 'tie') continue;
        const fromB = pinned.get(keyOf(c.b));
        if (fromB && c.filters.has(c.a.ref.id) && add(c.a, fromB)) changed = true;
        const fromA = pinned.get(keyOf(c.a));
        if (fromA && c.filters.has(c.b.ref.id) && add(c.b, fromA)) changed = true;
      }
    }
    return pinned;
  }

  verdict(): RouterFinding[] {
    const pinned = this.pins();
    for (const check of this.deferred) check(pinned);
    for (const ref of this.refs) {
      if (ref.inserted) continue;
      for (const tenant of this.required(ref)) {
        const expected = String(this.rules.scope[tenant.dimension]);
        const key = keyOf({ ref, column: tenant.column });
        const values = pinned.get(key);
        if (!values || values.size === 0) {
          const problem = `${tenant.column} is not pinned to the scope's ${tenant.dimension} (${expected})`;
          if (this.presenceAware.get(key)?.has(expected)) {
            this.findings.push({
              ...finding(ref, `${problem}, only by a presence-aware filter (… or (${ref.alias}.*) is null)`),
              known: 'presence-aware',
            });
          } else {
            this.findings.push(finding(ref, problem));
          }
        } else if (!values.has(expected) && !this.presenceAware.get(key)?.has(expected)) {
          // (pinned to the scope's value and another one passes: the app's own filter asks for
          // another tenant, the result is empty, at most one shard is reached; so does a pin to
          // another tenant beside the library's presence-aware filter to the scope's: a present
          // row must then hold both values)
          this.findings.push(
            finding(ref, `${tenant.column} is pinned to ${[...values].join(', ')}, not the scope's ${expected}`),
          );
        }
      }
    }
    return this.findings;
  }
}

function finding(ref: Reference, problem: string): RouterFinding {
  return { table: ref.table ?? ref.alias, alias: ref.alias, problem };
}

/** The findings for one statement (`$n` parameters, their values in `bindings`); none means router-friendly. */
export function checkRouterSql(sql: string, bindings: readonly unknown[], rules: RouterRules): RouterFinding[] {
  const parsed = parseForRouterCheck(sql);
  return Array.isArray(parsed) ? checkParsed(parsed, bindings, rules) : [parsed];
}

/** The parsed statements of `sql`, or the finding that it does not parse (parse once, check with many bindings). */
export function parseForRouterCheck(sql: string): unknown[] | RouterFinding {
  try {
    return parseStatements(sql);
  } catch (error) {
    return { table: '', alias: '', problem: `does not parse: ${(error as Error).message}` };
  }
}

/** `checkRouterSql` on statements parsed by `parseForRouterCheck`. */
export function checkParsed(
  statements: readonly unknown[],
  bindings: readonly unknown[],
  rules: RouterRules,
): RouterFinding[] {
  const analysis = new Analysis(rules, bindings);
  for (const statement of statements) analysis.statement(statement, undefined, new Set());
  return analysis.verdict();
}
