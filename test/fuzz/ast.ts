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

export type Pred =
  | { readonly k: 'cmp'; readonly col: ColRef; readonly op: CmpOp; readonly value: Scalar }
  | { readonly k: 'cmpCol'; readonly col: ColRef; readonly op: CmpOp; readonly other: ColRef }
  | { readonly k: 'in'; readonly col: ColRef; readonly values: readonly Scalar[]; readonly not: boolean }
  | { readonly k: 'inSub'; readonly col: ColRef; readonly sub: Select; readonly not: boolean }
  | { readonly k: 'exists'; readonly sub: Select; readonly not: boolean }
  | { readonly k: 'null'; readonly col: ColRef; readonly not: boolean }
  | { readonly k: 'between'; readonly col: ColRef; readonly lo: number; readonly hi: number }
  | { readonly k: 'like'; readonly col: ColRef; readonly pattern: string }
  | { readonly k: 'group'; readonly items: readonly WhereItem[]; readonly not: boolean }
  /** Raw SQL: `sql` with `??`/`?` bindings; `table` names a table inside it (raw policy). */
  | { readonly k: 'raw'; readonly sql: string; readonly bindings: readonly Scalar[]; readonly table?: string };

export interface WhereItem {
  readonly or: boolean;
  readonly pred: Pred;
}

export type OnItem =
  | { readonly k: 'cols'; readonly or: boolean; readonly left: ColRef; readonly op: CmpOp; readonly right: ColRef }
  | { readonly k: 'val'; readonly or: boolean; readonly col: ColRef; readonly value: Scalar }
  | { readonly k: 'in'; readonly or: boolean; readonly col: ColRef; readonly values: readonly Scalar[] }
  | { readonly k: 'null'; readonly or: boolean; readonly col: ColRef; readonly not: boolean };

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
  | { readonly k: 'cte'; readonly name: string; readonly alias?: string };

export type JoinKind = 'inner' | 'left' | 'right' | 'full' | 'cross';

export interface Join {
  readonly kind: JoinKind;
  readonly source: Source;
  /** ON items, or a USING column; nothing for a cross join. */
  readonly on: readonly OnItem[] | { readonly using: string };
}

export type AggFn = 'count' | 'countDistinct' | 'sum' | 'min' | 'max' | 'avg';

export type SelectItem =
  | { readonly k: 'col'; readonly col: ColRef; readonly as: string }
  | { readonly k: 'agg'; readonly fn: AggFn; readonly col?: ColRef; readonly as: string }
  | { readonly k: 'sub'; readonly sub: Select; readonly as: string }
  /** `q.*`: the only item when present; its columns are known from the schema. */
  | { readonly k: 'star'; readonly q: string; readonly cols: readonly ColRef[] };

export interface Having {
  readonly or: boolean;
  readonly fn: 'count' | 'sum' | 'max' | 'min';
  readonly col: ColRef;
  readonly op: CmpOp;
  readonly value: number;
}

export interface Cte {
  readonly name: string;
  readonly query: Select;
}

export interface Select {
  readonly k: 'select';
  readonly ctes: readonly Cte[];
  readonly distinct: boolean;
  readonly from: Source;
  readonly joins: readonly Join[];
  readonly where: readonly WhereItem[];
  readonly items: readonly SelectItem[];
  readonly groupBy: readonly ColRef[];
  readonly having: readonly Having[];
  readonly order: Order;
  readonly limit?: number;
  readonly offset?: number;
}

/** `total`: every output column, so the order is deterministic and rows compare in order. */
export type Order = { readonly k: 'none' } | { readonly k: 'total'; readonly desc: boolean } | { readonly k: 'some' };

export type SetOp = 'union' | 'unionAll' | 'intersect' | 'except';

export interface Compound {
  readonly k: 'compound';
  readonly first: Select;
  readonly rest: readonly { readonly op: SetOp; readonly query: Select }[];
  readonly order: Order;
  readonly limit?: number;
}

export type Read = Select | Compound;

export interface Conflict {
  readonly columns: readonly string[];
  readonly action: 'merge' | 'mergeSome' | 'ignore';
  readonly mergeColumns?: readonly string[];
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

export type Write =
  | {
      readonly k: 'insert';
      readonly table: string;
      readonly rows: readonly Readonly<Record<string, Scalar>>[];
      readonly conflict?: Conflict;
      readonly returning: boolean;
    }
  | { readonly k: 'insertSelect'; readonly table: string; readonly columns: readonly string[]; readonly select: Select }
  | {
      readonly k: 'update';
      readonly table: string;
      readonly set: Readonly<Record<string, Scalar>>;
      readonly increment?: { readonly col: string; readonly by: number };
      readonly extra?: WriteJoin;
      readonly where: readonly WhereItem[];
      readonly returning: boolean;
    }
  | {
      readonly k: 'delete';
      readonly table: string;
      readonly extra?: WriteJoin;
      readonly where: readonly WhereItem[];
      readonly returning: boolean;
    };

/** Output column names of a read, in order. */
export function outputs(q: Read): ColRef[] {
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
  if (item.k === 'sub') return outputs(item.sub)[0]?.ty ?? 'int';
  if ((item.fn === 'min' || item.fn === 'max') && item.col) return item.col.ty;
  return 'int';
}

function* selectsInWhere(items: readonly WhereItem[]): Generator<Select> {
  for (const { pred } of items) {
    if (pred.k === 'inSub' || pred.k === 'exists') yield* selectsIn(pred.sub);
    else if (pred.k === 'group') yield* selectsInWhere(pred.items);
  }
}

/** Every SELECT of a read or write, nested ones included. */
export function* selectsIn(node: Read | Write): Generator<Select> {
  if (node.k === 'compound') {
    yield* selectsIn(node.first);
    for (const member of node.rest) yield* selectsIn(member.query);
    return;
  }
  if (node.k === 'insert') return;
  if (node.k === 'insertSelect') {
    yield* selectsIn(node.select);
    return;
  }
  if (node.k === 'update' || node.k === 'delete') {
    yield* selectsInWhere(node.where);
    return;
  }
  yield node;
  for (const cte of node.ctes) yield* selectsIn(cte.query);
  for (const source of [node.from, ...node.joins.map((j) => j.source)]) {
    if (source.k === 'sub') yield* selectsIn(source.sub);
  }
  yield* selectsInWhere(node.where);
  for (const item of node.items) if (item.k === 'sub') yield* selectsIn(item.sub);
}
