// AST → Knex builder. The same function builds the scoped run (on the wrapped instance, inside
// scope()) and the oracle run (on a plain instance), and, given a recorder, the printed chain.
import type { Knex } from 'knex';
import type {
  ColRef,
  Having,
  Join,
  OnItem,
  Order,
  Read,
  Select,
  SelectItem,
  Source,
  WhereItem,
  Write,
  WriteJoin,
} from './ast';
import { outputs } from './ast';
import type { Scalar } from './world';

type QB = Knex.QueryBuilder;
type Db = Knex;
/** A where-able builder: the query itself or the one a where(callback) hands over. */
type Where = Knex.QueryBuilder;

const ref = (c: ColRef) => (c.q ? `${c.q}.${c.col}` : c.col);

function source(db: Db, s: Source): string | QB | Record<string, string> {
  if (s.k === 'table') {
    const name = s.schema ? `${s.schema}.${s.table}` : s.table;
    if (s.alias && s.objectForm) return { [s.alias]: name };
    return s.alias ? `${name} as ${s.alias}` : name;
  }
  if (s.k === 'cte') return s.alias ? `${s.name} as ${s.alias}` : s.name;
  return renderSelect(db, s.sub).as(s.alias);
}

/** Calls `where…` or `orWhere…` (`on…`/`orOn…`): the or-variant of a Knex method by name. */
function call(target: object, or: boolean, method: string, ...args: unknown[]): void {
  const name = or ? `or${method[0]!.toUpperCase()}${method.slice(1)}` : method;
  (target as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
}

export function applyWhere(db: Db, qb: Where, items: readonly WhereItem[]): void {
  for (const { or, pred: p } of items) {
    switch (p.k) {
      case 'cmp':
        call(qb, or, 'where', ref(p.col), p.op, p.value);
        break;
      case 'cmpCol':
        call(qb, or, 'whereColumn', ref(p.col), p.op, ref(p.other));
        break;
      case 'in':
        call(qb, or, p.not ? 'whereNotIn' : 'whereIn', ref(p.col), [...p.values]);
        break;
      case 'inSub':
        call(qb, or, p.not ? 'whereNotIn' : 'whereIn', ref(p.col), renderSelect(db, p.sub));
        break;
      case 'exists':
        call(qb, or, p.not ? 'whereNotExists' : 'whereExists', renderSelect(db, p.sub));
        break;
      case 'null':
        call(qb, or, p.not ? 'whereNotNull' : 'whereNull', ref(p.col));
        break;
      case 'between':
        call(qb, or, 'whereBetween', ref(p.col), [p.lo, p.hi]);
        break;
      case 'like':
        call(qb, or, 'where', ref(p.col), 'like', p.pattern);
        break;
      case 'group':
        call(qb, or, p.not ? 'whereNot' : 'where', (q: Where) => {
          applyWhere(db, q, p.items);
        });
        break;
      case 'raw':
        call(qb, or, 'whereRaw', p.sql, [...p.bindings]);
        break;
    }
  }
}

function applyOn(j: Knex.JoinClause, items: readonly OnItem[]): void {
  for (const item of items) {
    if (item.k === 'cols') call(j, item.or, 'on', ref(item.left), item.op, ref(item.right));
    else if (item.k === 'val') call(j, item.or, 'onVal', ref(item.col), '=', item.value);
    else if (item.k === 'in') call(j, item.or, 'onIn', ref(item.col), [...item.values]);
    else call(j, item.or, item.not ? 'onNotNull' : 'onNull', ref(item.col));
  }
}

const JOIN_METHOD = {
  inner: 'join',
  left: 'leftJoin',
  right: 'rightJoin',
  full: 'fullOuterJoin',
} as const;

function applyJoin(db: Db, qb: QB, join: Join): void {
  const target = source(db, join.source);
  if (join.kind === 'cross') {
    call(qb, false, 'crossJoin', target);
    return;
  }
  const on = join.on;
  const clause = function (this: Knex.JoinClause, j: Knex.JoinClause) {
    if ('using' in on) j.using(on.using);
    else applyOn(j, on as readonly OnItem[]);
  };
  qb[JOIN_METHOD[join.kind]](target as string, clause);
}

function applyItem(db: Db, qb: QB, item: SelectItem): void {
  switch (item.k) {
    case 'col':
      qb.select(`${ref(item.col)} as ${item.as}`);
      break;
    case 'star':
      qb.select(`${item.q}.*`);
      break;
    case 'sub':
      qb.select(renderSelect(db, item.sub).as(item.as));
      break;
    case 'agg': {
      const target = { [item.as]: item.col ? ref(item.col) : '*' };
      if (item.fn === 'count') qb.count(target);
      else if (item.fn === 'countDistinct') qb.countDistinct(target);
      else if (item.fn === 'sum') qb.sum(target);
      else if (item.fn === 'min') qb.min(target);
      else if (item.fn === 'max') qb.max(target);
      else qb.avg(target);
      break;
    }
  }
}

function applyHaving(qb: QB, having: readonly Having[]): void {
  for (const h of having) {
    const sql = `${h.fn}(??) ${h.op} ?`;
    if (h.or) qb.orHavingRaw(sql, [ref(h.col), h.value]);
    else qb.havingRaw(sql, [ref(h.col), h.value]);
  }
}

function applyOrder(qb: QB, read: Read, order: Order): void {
  if (order.k === 'none') return;
  const select = read.k === 'compound' ? read.first : read;
  const star = select.items[0]?.k === 'star';
  // star columns are ordered by their qualified names; other outputs by their aliases
  const names = outputs(read).map((c) => (star ? `${(select.items[0] as { q: string }).q}.${c.col}` : c.col));
  const used = order.k === 'some' ? names.slice(0, 1) : names;
  for (const name of used) qb.orderBy(name, order.k === 'total' && order.desc ? 'desc' : 'asc');
}

export function renderSelect(db: Db, s: Select): QB {
  const qb = db.queryBuilder();
  for (const cte of s.ctes) qb.with(cte.name, renderSelect(db, cte.query));
  const from = source(db, s.from);
  qb.from(from as string);
  for (const join of s.joins) applyJoin(db, qb, join);
  applyWhere(db, qb, s.where);
  if (s.distinct) qb.distinct();
  for (const item of s.items) applyItem(db, qb, item);
  if (s.groupBy.length > 0) qb.groupBy(s.groupBy.map(ref));
  applyHaving(qb, s.having);
  applyOrder(qb, s, s.order);
  if (s.limit !== undefined) qb.limit(s.limit);
  if (s.offset !== undefined) qb.offset(s.offset);
  return qb;
}

export function renderRead(db: Db, q: Read): QB {
  if (q.k === 'select') return renderSelect(db, q);
  const qb = db.queryBuilder().union([renderSelect(db, q.first)]);
  for (const { op, query } of q.rest) {
    const member = [renderSelect(db, query)];
    if (op === 'union') qb.union(member);
    else if (op === 'unionAll') qb.unionAll(member);
    else if (op === 'intersect') qb.intersect(member);
    else qb.except(member);
  }
  applyOrder(qb, q, q.order);
  if (q.limit !== undefined) qb.limit(q.limit);
  return qb;
}

/** With a second table, `*` would also return whichever of its matching rows the plan picked. */
const returned = (w: { table: string; extra?: WriteJoin }) => (w.extra ? `${w.table}.*` : '*');

function applyExtra(qb: QB, extra: WriteJoin | undefined): void {
  if (!extra) return;
  const target = `${extra.table} as ${extra.alias}`;
  if (extra.via === 'join' || extra.via === 'leftJoin') {
    call(qb, false, extra.via, target, ref(extra.left), ref(extra.right));
    return;
  }
  call(qb, false, extra.via, target);
  call(qb, false, 'whereColumn', ref(extra.left), '=', ref(extra.right));
}

export function renderWrite(db: Db, w: Write): QB {
  const qb = db(w.table);
  switch (w.k) {
    case 'insert': {
      const rows = w.rows.map((r) => ({ ...r })) as Record<string, Scalar>[];
      const insert = qb.insert(rows.length === 1 ? rows[0]! : rows);
      if (w.conflict) {
        const conflict = insert.onConflict([...w.conflict.columns]);
        if (w.conflict.action === 'ignore') conflict.ignore();
        else if (w.conflict.action === 'merge') conflict.merge();
        else conflict.merge([...(w.conflict.mergeColumns ?? [])]);
      }
      if (w.returning) insert.returning('*');
      return insert;
    }
    case 'insertSelect':
      return qb.insert(renderSelect(db, w.select));
    case 'update': {
      applyExtra(qb, w.extra);
      applyWhere(db, qb, w.where);
      if (Object.keys(w.set).length > 0) qb.update(w.set as Record<string, Knex.Value>);
      if (w.increment) qb.increment(w.increment.col, w.increment.by);
      if (w.returning) qb.returning(returned(w));
      return qb;
    }
    case 'delete':
      applyExtra(qb, w.extra);
      applyWhere(db, qb, w.where);
      qb.del();
      if (w.returning) qb.returning(returned(w));
      return qb;
  }
}
