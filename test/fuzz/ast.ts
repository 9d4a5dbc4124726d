// The query AST the fuzzer generates: small, typed, dialect-neutral. One AST is rendered to a
// Knex builder twice (scoped on the full database, plain on the oracle database) and printed as
// the Knex chain when a case fails.
import type { Scalar, Ty } from './world';

/** A column of a source visible at this point: `q.col`. */
export interface ColRef {
  readonly q: string;
  readonly col: string;
  readonly ty: Ty;
  /** The seeded column it comes from (`table.column`), to pick values that hit rows. */
  readonly from?: string;
}

export type CmpOp = '=' | '<>' | '<' | '>' | '<=' | '>=';

/** The objects a carrier of `toSqlString()` is (c11): mysql2.raw()'s shape, a typed array, a Date, a class instance. */
export type SqlStringShape = 'object' | 'typed array' | 'Date' | 'class instance';

/**
 * A bound value with a `toSqlString()` method returning `sql` (c11): mysql2 (sql-escaper) writes
 * what it returns into the SQL unescaped, at the top of a binding, in an array or a Set it
 * expands, in a Map's or a plain object's values. `nest`: the carrier sits in such a container
 * (beside `beside` in an array). Rendered to the real object by render.ts; refused by the core on
 * every dialect (UNSUPPORTED_QUERY as a builder value, RAW_SQL_REFUSED as a raw's binding).
 */
export interface SqlStringValue {
  readonly k: 'sqlString';
  readonly shape: SqlStringShape;
  readonly sql: string;
  readonly nest?: 'array' | 'Set' | 'Map' | 'object';
  readonly beside?: Scalar;
}

export const isSqlString = (v: unknown): v is SqlStringValue =>
  typeof v === 'object' && v !== null && (v as { k?: unknown }).k === 'sqlString';

/** A value bound by the builder: a scalar, or (c11) a carrier of `toSqlString()`. */
export type BoundValue = Scalar | SqlStringValue;

/**
 * A binding of a raw fragment. A string is a value behind `?`/`:x`, or a name behind `??`/`:x:`
 * (the fragment's SQL says which); the objects are Knex's other binding forms.
 */
export type Binding =
  | Scalar
  /** `??` bound to an array of names. */
  | { readonly k: 'names'; readonly names: readonly string[] }
  /** `??` (or `:x:`) bound to `{ alias: name }`. */
  | { readonly k: 'nameAs'; readonly alias: string; readonly name: string }
  /** `knex.ref(name)`, optionally `.as(alias)`. */
  | { readonly k: 'ref'; readonly name: string; readonly as?: string }
  /** `knex.raw(sql, bindings)` as a binding (its own bindings nested). */
  | { readonly k: 'raw'; readonly frag: RawFrag }
  /** A builder, compiled (and filtered) in place. */
  | { readonly k: 'sub'; readonly sub: Select }
  /** A value behind `?` carrying `toSqlString()` (c11). */
  | SqlStringValue;

/**
 * A raw fragment, `knex.raw(sql, bindings)`: positional (`?`, `??`) or named (`:x`, `:x:`)
 * bindings. `oracleSql`, when set, is what the oracle runs instead (an unbalanced fragment's
 * balanced superset: the scoped result must then be a subset of the oracle's).
 */
export interface RawFrag {
  readonly k: 'frag';
  readonly sql: string;
  readonly bindings: readonly Binding[] | Readonly<Record<string, Binding>>;
  readonly oracleSql?: string;
}

/** A value written by an insert, update or merge: a scalar, a raw expression, or (c11) a carrier of `toSqlString()`. */
export type WVal = Scalar | RawFrag | SqlStringValue;
export type Payload = Readonly<Record<string, WVal>>;

export const isFrag = (v: unknown): v is RawFrag =>
  typeof v === 'object' && v !== null && (v as { k?: unknown }).k === 'frag';

export type Pred =
  | { readonly k: 'cmp'; readonly col: ColRef; readonly op: CmpOp; readonly value: BoundValue }
  | { readonly k: 'cmpCol'; readonly col: ColRef; readonly op: CmpOp; readonly other: ColRef }
  | { readonly k: 'in'; readonly col: ColRef; readonly values: readonly BoundValue[]; readonly not: boolean }
  | { readonly k: 'inSub'; readonly col: ColRef; readonly sub: Select; readonly not: boolean }
  | { readonly k: 'exists'; readonly sub: Select; readonly not: boolean }
  | { readonly k: 'null'; readonly col: ColRef; readonly not: boolean }
  | { readonly k: 'between'; readonly col: ColRef; readonly lo: number; readonly hi: number }
  | { readonly k: 'like'; readonly col: ColRef; readonly pattern: string }
  | { readonly k: 'group'; readonly items: readonly WhereItem[]; readonly not: boolean }
  /** `whereRaw(sql, bindings)`, or `where(raw)`. */
  | { readonly k: 'raw'; readonly raw: RawFrag; readonly form?: 'where' }
  /**
   * `where(col, op, raw)` or `whereNot(col, op, raw)`. `oracle`: what the oracle runs instead
   * (an unbalanced raw's superset, c8).
   */
  | {
      readonly k: 'cmpRaw';
      readonly col: ColRef;
      readonly op: CmpOp;
      readonly raw: RawFrag;
      readonly not: boolean;
      readonly oracle?: Pred;
    }
  /** `whereIn(col, [values and raws])` or `whereIn(col, raw)`. */
  | {
      readonly k: 'inRaw';
      readonly col: ColRef;
      readonly values: readonly (Scalar | RawFrag)[] | RawFrag;
      readonly not: boolean;
      readonly oracle?: Pred;
    }
  /** `whereExists(raw)`. */
  | { readonly k: 'existsRaw'; readonly raw: RawFrag; readonly not: boolean }
  /** `whereBetween(col, [lo, hi])`, a bound a raw. */
  | { readonly k: 'betweenRaw'; readonly col: ColRef; readonly lo: number | RawFrag; readonly hi: number | RawFrag };

export interface WhereItem {
  readonly or: boolean;
  readonly pred: Pred;
}

export type OnItem =
  | { readonly k: 'cols'; readonly or: boolean; readonly left: ColRef; readonly op: CmpOp; readonly right: ColRef }
  | { readonly k: 'val'; readonly or: boolean; readonly col: ColRef; readonly value: BoundValue }
  | { readonly k: 'in'; readonly or: boolean; readonly col: ColRef; readonly values: readonly Scalar[] }
  | { readonly k: 'null'; readonly or: boolean; readonly col: ColRef; readonly not: boolean }
  /** `on(col, op, raw)`. */
  | {
      readonly k: 'colRaw';
      readonly or: boolean;
      readonly left: ColRef;
      readonly op: CmpOp;
      readonly raw: RawFrag;
      readonly oracle?: OnItem;
    }
  /** `onVal(col, '=', raw)`. */
  | { readonly k: 'valRaw'; readonly or: boolean; readonly col: ColRef; readonly raw: RawFrag }
  /** `on(raw)`. */
  | { readonly k: 'raw'; readonly or: boolean; readonly raw: RawFrag };

export type Source =
  | {
      readonly k: 'table';
      readonly table: string;
      readonly alias?: string;
      /** Schema-qualified (`public.projects`, `main.projects`). */
      readonly schema?: string;
      /** Knex's object form, `{ alias: 'table' }`, instead of `'table as alias'`. */
      readonly objectForm?: boolean;
    }
  | { readonly k: 'sub'; readonly sub: Select; readonly alias: string }
  | { readonly k: 'cte'; readonly name: string; readonly alias?: string }
  /** `fromRaw(raw)`: the raw names the source and its alias. */
  | { readonly k: 'raw'; readonly raw: RawFrag; readonly alias: string }
  /**
   * A comma join, `from a, b` (a cross join that binds looser than JOIN: the ON clause of a later
   * join sees the last item only, on PostgreSQL and MySQL): Knex's object form with several keys,
   * `from({ a: 't1', b: sub })`, or its array form, `from(['t1', 't2'])`, whose items Knex
   * aliases "0", "1", …
   */
  | { readonly k: 'comma'; readonly form: 'object' | 'array'; readonly items: readonly CommaItem[] };

/** An item of a comma join: a table under its alias (the array form's is its index), or a derived table. */
export type CommaItem =
  | { readonly k: 'table'; readonly table: string; readonly alias: string; readonly schema?: string }
  | { readonly k: 'sub'; readonly sub: Select; readonly alias: string };

export type JoinKind = 'inner' | 'left' | 'right' | 'full' | 'cross';

export type Join =
  | {
      readonly kind: JoinKind;
      readonly source: Source;
      /** ON items, or a USING column; nothing for a cross join. */
      readonly on: readonly OnItem[] | { readonly using: string };
    }
  /** `joinRaw(raw)`: the whole join, its source (alias `alias`) and condition, in raw SQL. */
  | { readonly kind: 'raw'; readonly raw: RawFrag; readonly alias: string };

export type AggFn = 'count' | 'countDistinct' | 'sum' | 'min' | 'max' | 'avg';
export type WindowFn = 'rank' | 'denseRank' | 'rowNumber';

export type SelectItem =
  | { readonly k: 'col'; readonly col: ColRef; readonly as: string }
  | { readonly k: 'agg'; readonly fn: AggFn; readonly col?: ColRef; readonly as: string }
  | { readonly k: 'sub'; readonly sub: Select; readonly as: string }
  /** `q.*`: the only item when present; its columns are known from the schema. */
  | { readonly k: 'star'; readonly q: string; readonly cols: readonly ColRef[] }
  /**
   * `select(raw)` or `columns(raw)` (the raw's SQL ends with `as <as>`), or `select({ as: raw })`.
   */
  | {
      readonly k: 'raw';
      readonly raw: RawFrag;
      readonly as: string;
      readonly ty: Ty;
      readonly form: 'select' | 'columns' | 'object';
    }
  /** `rank(as, raw)`: the raw is the window, `order by …`. */
  | { readonly k: 'window'; readonly fn: WindowFn; readonly raw: RawFrag; readonly as: string }
  /** `jsonExtract(raw, '$.a', as)`: the raw is a JSON document `{ "a": … }`. */
  | { readonly k: 'json'; readonly raw: RawFrag; readonly as: string; readonly ty: Ty };

export type Having =
  | {
      readonly k?: undefined;
      readonly or: boolean;
      readonly fn: 'count' | 'sum' | 'max' | 'min';
      readonly col: ColRef;
      readonly op: CmpOp;
      readonly value: number;
    }
  /** `havingRaw(raw)`. */
  | { readonly k: 'raw'; readonly or: boolean; readonly raw: RawFrag }
  /** `having(raw, op, raw)`. */
  | {
      readonly k: 'rawCmp';
      readonly or: boolean;
      readonly left: RawFrag;
      readonly op: CmpOp;
      readonly right: RawFrag;
      readonly oracle?: Having;
    };

export type Cte =
  | {
      readonly name: string;
      readonly query: Select;
      /** `with(name, columns, query)`: the CTE's columns renamed. */
      readonly columns?: readonly string[];
    }
  /** `with(name, raw)`. */
  | { readonly name: string; readonly raw: RawFrag };

export interface Select {
  readonly k: 'select';
  readonly ctes: readonly Cte[];
  readonly distinct: boolean;
  readonly from: Source;
  readonly joins: readonly Join[];
  readonly where: readonly WhereItem[];
  readonly items: readonly SelectItem[];
  readonly groupBy: readonly ColRef[];
  /** `groupBy(raw)` or `groupByRaw(…)` in place of the names of `groupBy` (which it lists, maybe with more). */
  readonly groupRaw?: { readonly raw: RawFrag; readonly method: 'groupBy' | 'groupByRaw' };
  readonly having: readonly Having[];
  readonly order: Order;
  /** `orderBy(raw)` (or `orderByRaw`) after `order`: an ordinal, so never changes a total order. */
  readonly orderRaw?: { readonly raw: RawFrag; readonly method: 'orderBy' | 'orderByRaw' | 'orderByObject' };
  readonly limit?: number;
  readonly offset?: number | RawFrag;
}

/** `total`: every output column, so the order is deterministic and rows compare in order. */
export type Order = { readonly k: 'none' } | { readonly k: 'total'; readonly desc: boolean } | { readonly k: 'some' };

export type SetOp = 'union' | 'unionAll' | 'intersect' | 'except';

/** A member of a compound after the first: a builder, or `union(raw)`. */
export type Member = { readonly op: SetOp; readonly query: Select } | { readonly op: SetOp; readonly raw: RawFrag };

export interface Compound {
  readonly k: 'compound';
  readonly first: Select;
  readonly rest: readonly Member[];
  readonly order: Order;
  readonly limit?: number;
}

/** A whole raw statement, `knex.raw(sql, bindings)`, run as a read. */
export interface RawRead {
  readonly k: 'rawRead';
  readonly raw: RawFrag;
}

export type Read = Select | Compound | RawRead;

export interface Conflict {
  readonly columns: readonly string[];
  /** `merge()`, `merge([cols])`, `merge({ col: value })`, `ignore()`. */
  readonly action: 'merge' | 'mergeSome' | 'mergeValues' | 'ignore';
  readonly mergeColumns?: readonly string[];
  readonly mergeValues?: Payload;
  /** `merge(…).where(…)` (PostgreSQL, SQLite): a condition on the row a conflict would update. */
  readonly where?: readonly WhereItem[];
}

/** A second table in an UPDATE or DELETE, matched to the written one on `left = right`. */
export interface WriteJoin {
  /** PostgreSQL: UPDATE … FROM, DELETE … USING; MySQL: joins. */
  readonly via: 'updateFrom' | 'using' | 'join' | 'leftJoin';
  readonly table: string;
  readonly alias: string;
  readonly left: ColRef;
  readonly right: ColRef;
}

/** `returning('*')` (or the table's columns with a second table), or `returning(raw)`. */
export type Returning = boolean | RawFrag;

export type Write =
  | {
      readonly k: 'insert';
      readonly table: string;
      readonly rows: readonly Payload[];
      readonly conflict?: Conflict;
      readonly returning: Returning;
      /**
       * `insert(knex.raw('(cols) values (…)'))`: the rows written as a raw body, their values
       * bound (`?`, `:x`) or inline. Scalar rows only.
       */
      readonly rawBody?: 'bound' | 'named' | 'inline';
    }
  /** MySQL's `upsert(rows)`: REPLACE INTO (deletes the row a key collides with, then inserts). */
  | { readonly k: 'upsert'; readonly table: string; readonly rows: readonly Payload[] }
  | { readonly k: 'insertSelect'; readonly table: string; readonly columns: readonly string[]; readonly select: Select }
  | {
      readonly k: 'update';
      readonly table: string;
      readonly set: Payload;
      readonly increment?: { readonly col: string; readonly by: number };
      readonly extra?: WriteJoin;
      readonly where: readonly WhereItem[];
      readonly returning: Returning;
    }
  | {
      readonly k: 'delete';
      readonly table: string;
      readonly extra?: WriteJoin;
      readonly where: readonly WhereItem[];
      readonly returning: Returning;
    };

/** Output column names of a read, in order. */
export function outputs(q: Read): ColRef[] {
  if (q.k === 'rawRead') return [];
  const select = q.k === 'compound' ? q.first : q;
  const out: ColRef[] = [];
  for (const item of select.items) {
    if (item.k === 'star') out.push(...item.cols);
    else if (item.k === 'col')
      out.push({ q: '', col: item.as, ty: item.col.ty, ...(item.col.from ? { from: item.col.from } : {}) });
    else out.push({ q: '', col: item.as, ty: itemType(item) });
  }
  return out;
}

export function itemType(item: Exclude<SelectItem, { k: 'star' }>): ColRef['ty'] {
  if (item.k === 'col') return item.col.ty;
  if (item.k === 'raw' || item.k === 'json') return item.ty;
  if (item.k === 'window') return 'int';
  if (item.k === 'sub') return outputs(item.sub)[0]?.ty ?? 'int';
  if ((item.fn === 'min' || item.fn === 'max') && item.col) return item.col.ty;
  return 'int';
}

/** The raw fragments directly in a node (not in nested selects), and the selects bound in them. */
function* fragsOfBindings(f: RawFrag): Generator<Select> {
  const values = Array.isArray(f.bindings) ? f.bindings : Object.values(f.bindings);
  for (const b of values as Binding[]) {
    if (b !== null && typeof b === 'object' && b.k === 'sub') yield* selectsIn(b.sub);
    if (b !== null && typeof b === 'object' && b.k === 'raw') yield* fragsOfBindings(b.frag);
  }
}

function* selectsInWhere(items: readonly WhereItem[]): Generator<Select> {
  for (const { pred } of items) {
    if (pred.k === 'inSub' || pred.k === 'exists') yield* selectsIn(pred.sub);
    else if (pred.k === 'group') yield* selectsInWhere(pred.items);
    else if (pred.k === 'raw' || pred.k === 'cmpRaw' || pred.k === 'existsRaw') yield* fragsOfBindings(pred.raw);
    else if (pred.k === 'inRaw') {
      for (const v of isFrag(pred.values) ? [pred.values] : pred.values) if (isFrag(v)) yield* fragsOfBindings(v);
    }
  }
}

function* selectsInPayload(payload: Payload): Generator<Select> {
  for (const v of Object.values(payload)) if (isFrag(v)) yield* fragsOfBindings(v);
}

/** Every SELECT of a read or write, nested ones included (builders bound in raws too). */
export function* selectsIn(node: Read | Write): Generator<Select> {
  switch (node.k) {
    case 'rawRead':
      yield* fragsOfBindings(node.raw);
      return;
    case 'compound':
      yield* selectsIn(node.first);
      for (const member of node.rest) {
        if ('query' in member) yield* selectsIn(member.query);
        else yield* fragsOfBindings(member.raw);
      }
      return;
    case 'insert':
    case 'upsert':
      for (const row of node.rows) yield* selectsInPayload(row);
      if (node.k === 'insert' && node.conflict?.mergeValues) yield* selectsInPayload(node.conflict.mergeValues);
      if (node.k === 'insert' && node.conflict?.where) yield* selectsInWhere(node.conflict.where);
      return;
    case 'insertSelect':
      yield* selectsIn(node.select);
      return;
    case 'update':
    case 'delete':
      if (node.k === 'update') yield* selectsInPayload(node.set);
      yield* selectsInWhere(node.where);
      return;
    case 'select':
      break;
  }
  yield node;
  for (const cte of node.ctes) {
    if ('query' in cte) yield* selectsIn(cte.query);
    else yield* fragsOfBindings(cte.raw);
  }
  const items = node.from.k === 'comma' ? node.from.items : [];
  for (const source of [node.from, ...items, ...node.joins.map((j) => ('source' in j ? j.source : undefined))]) {
    if (source?.k === 'sub') yield* selectsIn(source.sub);
    if (source?.k === 'raw') yield* fragsOfBindings(source.raw);
  }
  for (const join of node.joins) {
    if (join.kind === 'raw') yield* fragsOfBindings(join.raw);
  }
  yield* selectsInWhere(node.where);
  for (const item of node.items) {
    if (item.k === 'sub') yield* selectsIn(item.sub);
    if (item.k === 'raw' || item.k === 'window' || item.k === 'json') yield* fragsOfBindings(item.raw);
  }
}

/** The AST the oracle runs: every node with an `oracle` replaced by it, every fragment's `oracleSql` taken. */
export function forOracle<T>(node: T): T {
  if (Array.isArray(node)) return node.map(forOracle) as T;
  if (node === null || typeof node !== 'object') return node;
  if ('oracle' in node && node.oracle !== undefined) return forOracle(node.oracle as T);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = forOracle(v);
  if (isFrag(node) && node.oracleSql !== undefined) {
    out.sql = node.oracleSql;
    delete out.oracleSql;
  }
  return out as T;
}
