// AST → Knex builder. The same function builds the scoped run (on the wrapped instance, inside
// scope()) and the oracle run (on a plain instance), and, given a recorder, the printed chain.
import type { Knex } from 'knex';
import type {
  Binding,
  BoundValue,
  ColRef,
  CommaItem,
  Having,
  Join,
  OnItem,
  Order,
  Payload,
  RawFrag,
  Read,
  Returning,
  Select,
  SelectItem,
  Source,
  SqlStringValue,
  WhereItem,
  Write,
  WriteJoin,
} from './ast';
import { isFrag, isSqlString, outputs } from './ast';
import { TABLE } from './world';

type QB = Knex.QueryBuilder;
type Db = Knex;
/** A where-able builder: the query itself or the one a where(callback) hands over. */
type Where = Knex.QueryBuilder;

const ref = (c: ColRef) => (c.q ? `${c.q}.${c.col}` : c.col);

/** An app's record type whose instances carry `toSqlString()` (c11). */
class SqlStringCarrier {
  constructor(private readonly sql: string) {}
  toSqlString(): string {
    return this.sql;
  }
}

/** How printer.ts shows a rendered carrier of `toSqlString()`: as the code that makes it. */
export const PRINTED = new WeakMap<object, string>();

/** The carrier itself and the code that makes it. */
function carrierOf(v: SqlStringValue): [object, string] {
  const sql = v.sql;
  const toSqlString = () => sql;
  const method = `{ toSqlString: () => ${JSON.stringify(sql)} }`;
  switch (v.shape) {
    case 'object':
      return [{ toSqlString }, method]; // what mysql2.raw(sql) returns
    case 'typed array':
      return [Object.assign(new Uint16Array(0), { toSqlString }), `Object.assign(new Uint16Array(0), ${method})`];
    case 'Date':
      return [Object.assign(new Date(0), { toSqlString }), `Object.assign(new Date(0), ${method})`];
    case 'class instance':
      return [new SqlStringCarrier(sql), `new SqlStringCarrier(${JSON.stringify(sql)})`];
  }
}

/** The object a carrier of `toSqlString()` is (c11), in its container if it has one. */
export function renderSqlString(v: SqlStringValue): unknown {
  const [carrier, code] = carrierOf(v);
  let value: object = carrier;
  let text = code;
  if (v.nest === 'array') {
    value = [v.beside ?? null, carrier];
    text = `[${JSON.stringify(v.beside ?? null)}, ${code}]`;
  } else if (v.nest === 'Set') {
    value = new Set([carrier]);
    text = `new Set([${code}])`;
  } else if (v.nest === 'Map') {
    value = new Map([['k', carrier]]);
    text = `new Map([["k", ${code}]])`;
  } else if (v.nest === 'object') {
    value = { k: carrier };
    text = `{ k: ${code} }`;
  }
  PRINTED.set(value, text);
  return value;
}

const bound = (v: BoundValue): unknown => (isSqlString(v) ? renderSqlString(v) : v);

function binding(db: Db, b: Binding): unknown {
  if (b === null || typeof b !== 'object') return b;
  switch (b.k) {
    case 'names':
      return [...b.names];
    case 'nameAs':
      return { [b.alias]: b.name };
    case 'ref':
      return b.as ? db.ref(b.name).as(b.as) : db.ref(b.name);
    case 'raw':
      return renderFrag(db, b.frag);
    case 'sub':
      return renderSelect(db, b.sub);
    case 'sqlString':
      return renderSqlString(b);
  }
}

/** A fragment's SQL and its rendered bindings (an array, or an object of named ones). */
function fragArgs(db: Db, f: RawFrag): [string, unknown] {
  if (Array.isArray(f.bindings)) return [f.sql, (f.bindings as readonly Binding[]).map((b) => binding(db, b))];
  const named = f.bindings as Readonly<Record<string, Binding>>;
  return [f.sql, Object.fromEntries(Object.entries(named).map(([k, v]) => [k, binding(db, v)]))];
}

export function renderFrag(db: Db, f: RawFrag): Knex.Raw {
  const [sql, bindings] = fragArgs(db, f);
  if (Array.isArray(bindings) && bindings.length === 0) return db.raw(sql);
  return db.raw(sql, bindings as Knex.RawBinding[]);
}

/** `method(sql)` or `method(sql, bindings)`: the string forms of whereRaw, fromRaw, joinRaw… */
function callRaw(target: object, or: boolean, method: string, db: Db, f: RawFrag): void {
  const [sql, bindings] = fragArgs(db, f);
  if (Array.isArray(bindings) && bindings.length === 0) call(target, or, method, sql);
  else call(target, or, method, sql, bindings);
}

function payload(db: Db, row: Payload): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = isFrag(v) ? renderFrag(db, v) : bound(v);
  return out;
}

function source(db: Db, s: Source): string | QB | Record<string, string | QB> | string[] | Knex.Raw {
  if (s.k === 'comma') {
    const item = (i: CommaItem) =>
      i.k === 'sub' ? renderSelect(db, i.sub) : i.schema ? `${i.schema}.${i.table}` : i.table;
    // the array form: Knex aliases its items by their index
    if (s.form === 'array') return s.items.map((i) => item(i) as string);
    return Object.fromEntries(s.items.map((i) => [i.alias, item(i)]));
  }
  if (s.k === 'table') {
    const name = s.schema ? `${s.schema}.${s.table}` : s.table;
    if (s.alias && s.objectForm) return { [s.alias]: name };
    return s.alias ? `${name} as ${s.alias}` : name;
  }
  if (s.k === 'cte') return s.alias ? `${s.name} as ${s.alias}` : s.name;
  if (s.k === 'raw') return renderFrag(db, s.raw);
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
        call(qb, or, 'where', ref(p.col), p.op, bound(p.value));
        break;
      case 'cmpCol':
        call(qb, or, 'whereColumn', ref(p.col), p.op, ref(p.other));
        break;
      case 'in':
        call(qb, or, p.not ? 'whereNotIn' : 'whereIn', ref(p.col), p.values.map(bound));
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
        if (p.form === 'where') call(qb, or, 'where', renderFrag(db, p.raw));
        else callRaw(qb, or, 'whereRaw', db, p.raw);
        break;
      case 'existsRaw':
        call(qb, or, p.not ? 'whereNotExists' : 'whereExists', renderFrag(db, p.raw));
        break;
      case 'betweenRaw': {
        const bound = (v: number | RawFrag) => (isFrag(v) ? renderFrag(db, v) : v);
        call(qb, or, 'whereBetween', ref(p.col), [bound(p.lo), bound(p.hi)]);
        break;
      }
      case 'cmpRaw':
        call(qb, or, p.not ? 'whereNot' : 'where', ref(p.col), p.op, renderFrag(db, p.raw));
        break;
      case 'inRaw': {
        const values = isFrag(p.values)
          ? renderFrag(db, p.values)
          : p.values.map((v) => (isFrag(v) ? renderFrag(db, v) : v));
        call(qb, or, p.not ? 'whereNotIn' : 'whereIn', ref(p.col), values);
        break;
      }
    }
  }
}

function applyOn(db: Db, j: Knex.JoinClause, items: readonly OnItem[]): void {
  for (const item of items) {
    if (item.k === 'cols') call(j, item.or, 'on', ref(item.left), item.op, ref(item.right));
    else if (item.k === 'val') call(j, item.or, 'onVal', ref(item.col), '=', bound(item.value));
    else if (item.k === 'in') call(j, item.or, 'onIn', ref(item.col), [...item.values]);
    else if (item.k === 'null') call(j, item.or, item.not ? 'onNotNull' : 'onNull', ref(item.col));
    else if (item.k === 'colRaw') call(j, item.or, 'on', ref(item.left), item.op, renderFrag(db, item.raw));
    else if (item.k === 'valRaw') call(j, item.or, 'onVal', ref(item.col), '=', renderFrag(db, item.raw));
    else call(j, item.or, 'on', renderFrag(db, item.raw));
  }
}

const JOIN_METHOD = {
  inner: 'join',
  left: 'leftJoin',
  right: 'rightJoin',
  full: 'fullOuterJoin',
} as const;

function applyJoin(db: Db, qb: QB, join: Join): void {
  if (join.kind === 'raw') {
    callRaw(qb, false, 'joinRaw', db, join.raw);
    return;
  }
  const target = source(db, join.source);
  if (join.kind === 'cross') {
    call(qb, false, 'crossJoin', target);
    return;
  }
  const on = join.on;
  const clause = function (this: Knex.JoinClause, j: Knex.JoinClause) {
    if ('using' in on) j.using(on.using);
    else applyOn(db, j, on as readonly OnItem[]);
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
    case 'raw':
      if (item.form === 'columns') qb.columns(renderFrag(db, item.raw));
      else if (item.form === 'object') qb.select({ [item.as]: renderFrag(db, item.raw) } as unknown as string);
      else qb.select(renderFrag(db, item.raw));
      break;
    case 'window':
      qb[item.fn](item.as, renderFrag(db, item.raw));
      break;
    case 'json':
      qb.jsonExtract(renderFrag(db, item.raw) as unknown as string, '$.a', item.as);
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

function applyHaving(db: Db, qb: QB, having: readonly Having[]): void {
  for (const h of having) {
    if (h.k === 'raw') {
      callRaw(qb, h.or, 'havingRaw', db, h.raw);
      continue;
    }
    if (h.k === 'rawCmp') {
      call(qb, h.or, 'having', renderFrag(db, h.left), h.op, renderFrag(db, h.right));
      continue;
    }
    const sql = `${h.fn}(??) ${h.op} ?`;
    if (h.or) qb.orHavingRaw(sql, [ref(h.col), h.value]);
    else qb.havingRaw(sql, [ref(h.col), h.value]);
  }
}

function applyOrder(qb: QB, read: Select | Compound, order: Order): void {
  if (order.k === 'none') return;
  const select = read.k === 'compound' ? read.first : read;
  const star = select.items[0]?.k === 'star';
  // star columns are ordered by their qualified names; other outputs by their aliases
  const names = outputs(read).map((c) => (star ? `${(select.items[0] as { q: string }).q}.${c.col}` : c.col));
  const used = order.k === 'some' ? names.slice(0, 1) : names;
  for (const name of used) qb.orderBy(name, order.k === 'total' && order.desc ? 'desc' : 'asc');
}

type Compound = Extract<Read, { k: 'compound' }>;

export function renderSelect(db: Db, s: Select): QB {
  const qb = db.queryBuilder();
  for (const cte of s.ctes) {
    if ('raw' in cte) qb.with(cte.name, renderFrag(db, cte.raw));
    else if (cte.columns) qb.with(cte.name, [...cte.columns], renderSelect(db, cte.query));
    else qb.with(cte.name, renderSelect(db, cte.query));
  }
  if (s.from.k === 'raw') callRaw(qb, false, 'fromRaw', db, s.from.raw);
  else qb.from(source(db, s.from) as string);
  for (const join of s.joins) applyJoin(db, qb, join);
  applyWhere(db, qb, s.where);
  if (s.distinct) qb.distinct();
  for (const item of s.items) applyItem(db, qb, item);
  if (s.groupRaw?.method === 'groupByRaw') callRaw(qb, false, 'groupByRaw', db, s.groupRaw.raw);
  else if (s.groupRaw) qb.groupBy(renderFrag(db, s.groupRaw.raw) as unknown as string);
  else if (s.groupBy.length > 0) qb.groupBy(s.groupBy.map(ref));
  applyHaving(db, qb, s.having);
  applyOrder(qb, s, s.order);
  if (s.orderRaw?.method === 'orderByRaw') callRaw(qb, false, 'orderByRaw', db, s.orderRaw.raw);
  else if (s.orderRaw?.method === 'orderByObject') {
    qb.orderBy([{ column: renderFrag(db, s.orderRaw.raw) as unknown as string, order: 'asc' }]);
  } else if (s.orderRaw) qb.orderBy(renderFrag(db, s.orderRaw.raw) as unknown as string);
  if (s.limit !== undefined) qb.limit(s.limit);
  if (s.offset !== undefined) qb.offset(isFrag(s.offset) ? (renderFrag(db, s.offset) as unknown as number) : s.offset);
  return qb;
}

/** The builder (or, for a raw statement, the raw) of a read. */
export function renderRead(db: Db, q: Read): QB | Knex.Raw {
  if (q.k === 'select') return renderSelect(db, q);
  if (q.k === 'rawRead') return renderFrag(db, q.raw);
  const qb = db.queryBuilder().union([renderSelect(db, q.first)]);
  for (const m of q.rest) {
    const op = m.op;
    const member = ['query' in m ? renderSelect(db, m.query) : (renderFrag(db, m.raw) as unknown as QB)];
    if (op === 'union') qb.union(member);
    else if (op === 'unionAll') qb.unionAll(member);
    else if (op === 'intersect') qb.intersect(member);
    else qb.except(member);
  }
  applyOrder(qb, q, q.order);
  if (q.limit !== undefined) qb.limit(q.limit);
  return qb;
}

/** The rows a read gave: a raw statement's result is the driver's (rows, or `[rows, fields]`). */
export function readRows(q: Read, dialect: string, result: unknown): Record<string, unknown>[] {
  if (q.k !== 'rawRead') return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
  if (dialect === 'pg')
    return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
  if (dialect === 'mysql') return (Array.isArray(result) ? (result[0] ?? []) : []) as Record<string, unknown>[];
  return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
}

/** With a second table, `*` would also return whichever of its matching rows the plan picked. */
const returned = (w: { table: string; extra?: WriteJoin }) => (w.extra ? `${w.table}.*` : '*');

function applyReturning(db: Db, qb: QB, w: { table: string; extra?: WriteJoin; returning: Returning }): void {
  if (w.returning === false) return;
  if (w.returning === true) qb.returning(returned(w));
  else qb.returning(renderFrag(db, w.returning) as unknown as string);
}

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

/** An insert's rows as one raw body: `(a, b) values (?, ?), (?, ?)`, or named, or inline. */
export function rawInsertBody(table: string, rows: readonly Payload[], style: 'bound' | 'named' | 'inline'): RawFrag {
  const columns = (TABLE.get(table)?.columns ?? []).map((c) => c.name).filter((c) => rows.some((r) => c in r));
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !columns.includes(k));
  const all = [...columns, ...extra];
  const positional: Binding[] = [];
  const named: Record<string, Binding> = {};
  const tuples = rows.map((row) => {
    const values = all.map((c) => {
      const v = row[c];
      const value = v === undefined || isFrag(v) || isSqlString(v) ? null : v;
      if (style === 'inline') return value === null ? 'null' : typeof value === 'number' ? String(value) : `'${value}'`;
      if (style === 'bound') {
        positional.push(value);
        return '?';
      }
      const name = `v${Object.keys(named).length}`;
      named[name] = value;
      return `:${name}`;
    });
    return `(${values.join(', ')})`;
  });
  return {
    k: 'frag',
    sql: `(${all.join(', ')}) values ${tuples.join(', ')}`,
    bindings: style === 'named' ? named : positional,
  };
}

export function renderWrite(db: Db, w: Write): QB {
  const qb = db(w.table);
  switch (w.k) {
    case 'insert': {
      const rows = w.rows.map((r) => payload(db, r));
      const body = w.rawBody ? renderFrag(db, rawInsertBody(w.table, w.rows, w.rawBody)) : undefined;
      const insert = qb.insert(body ?? (rows.length === 1 ? rows[0]! : rows));
      if (w.conflict) {
        const conflict = insert.onConflict([...w.conflict.columns]);
        if (w.conflict.action === 'ignore') conflict.ignore();
        else if (w.conflict.action === 'merge') conflict.merge();
        else if (w.conflict.action === 'mergeValues') conflict.merge(payload(db, w.conflict.mergeValues ?? {}));
        else conflict.merge([...(w.conflict.mergeColumns ?? [])]);
        if (w.conflict.where) applyWhere(db, insert, w.conflict.where);
      }
      applyReturning(db, insert, w);
      return insert;
    }
    case 'upsert': {
      const rows = w.rows.map((r) => payload(db, r));
      return (qb as QB & { upsert(rows: unknown): QB }).upsert(rows.length === 1 ? rows[0]! : rows);
    }
    case 'insertSelect':
      return qb.insert(renderSelect(db, w.select));
    case 'update': {
      applyExtra(qb, w.extra);
      applyWhere(db, qb, w.where);
      if (Object.keys(w.set).length > 0) qb.update(payload(db, w.set) as Record<string, Knex.Value>);
      if (w.increment) qb.increment(w.increment.col, w.increment.by);
      applyReturning(db, qb, w);
      return qb;
    }
    case 'delete':
      applyExtra(qb, w.extra);
      applyWhere(db, qb, w.where);
      qb.del();
      applyReturning(db, qb, w);
      return qb;
  }
}
