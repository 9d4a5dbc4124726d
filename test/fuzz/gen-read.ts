// Generators of reads: sources (tables, aliases, derived tables, CTEs), joins of every kind the
// dialect has, WHERE trees with subqueries, aggregates, select subqueries, compounds.
import type {
  AggFn,
  CmpOp,
  ColRef,
  Compound,
  Cte,
  Having,
  Join,
  JoinKind,
  OnItem,
  Order,
  Pred,
  Read,
  Select,
  SelectItem,
  SetOp,
  Source,
  WhereItem,
} from './ast';
import { outputs } from './ast';
import { columnsOfType, type Gen } from './gen-context';
import { RELATIONS, SCOPED_TABLES, TABLE, TABLES, type Ty } from './world';

interface Src {
  readonly source: Source;
  readonly cols: ColRef[];
  /** The base table, for a table source. */
  readonly table?: string;
  readonly q: string;
}

interface CteInfo {
  readonly name: string;
  readonly cols: ColRef[];
}

interface Level {
  readonly depth: number;
  readonly ctes: readonly CteInfo[];
  /** Qualifiers taken in this SELECT. */
  readonly used: Set<string>;
}

const OPS: readonly CmpOp[] = ['=', '<>', '<', '>', '<=', '>='];
// Scoped tables first and twice: most queries should be about them.
const READ_TABLES = [...SCOPED_TABLES, ...SCOPED_TABLES, ...TABLES.map((t) => t.name)];

function tableCols(table: string, q: string): ColRef[] {
  return (TABLE.get(table)?.columns ?? []).map((c) => ({ q, col: c.name, ty: c.ty, from: `${table}.${c.name}` }));
}

function tableSource(x: Gen, level: Level, tables: readonly string[]): Src {
  const table = x.pick(tables);
  const roll = x.int(0, 99);
  let alias: string | undefined;
  if (roll < 60 || (roll < 90 && level.used.has(table))) alias = x.alias();
  else if (roll >= 90) {
    // an alias that is another table's name: filters must follow the alias, not the name
    const evil = TABLES.map((t) => t.name).filter((n) => n !== table && !level.used.has(n));
    alias = evil.length > 0 ? x.pick(evil) : x.alias();
  }
  // the schema every database of the dialect has (MySQL's is the database: it differs per oracle)
  const schema = x.dialect !== 'mysql' && x.chance(10) ? (x.dialect === 'pg' ? 'public' : 'main') : undefined;
  const q = alias ?? (schema ? `${schema}.${table}` : table);
  level.used.add(q);
  if (!alias) level.used.add(table);
  const source: Source = {
    k: 'table',
    table,
    ...(alias ? { alias } : {}),
    ...(schema ? { schema } : {}),
    ...(alias && x.chance(8) ? { objectForm: true } : {}),
  };
  return { source, cols: tableCols(table, q), table, q };
}

function genSource(x: Gen, level: Level): Src {
  const roll = x.int(0, 99);
  if (level.ctes.length > 0 && roll >= 85) {
    const cte = x.pick(level.ctes);
    const alias = x.chance(50) || level.used.has(cte.name) ? x.alias() : undefined;
    const q = alias ?? cte.name;
    level.used.add(q);
    const cols = cte.cols.map((c) => ({ ...c, q }));
    return { source: alias ? { k: 'cte', name: cte.name, alias } : { k: 'cte', name: cte.name }, cols, q };
  }
  if (level.depth < 2 && roll >= 75) {
    const sub = genSelect(x, { depth: level.depth + 1, ctes: level.ctes });
    const alias = x.alias();
    level.used.add(alias);
    return { source: { k: 'sub', sub, alias }, cols: outputs(sub).map((c) => ({ ...c, q: alias })), q: alias };
  }
  return tableSource(x, level, READ_TABLES);
}

function joinKinds(x: Gen): readonly JoinKind[] {
  return x.dialect === 'mysql' ? ['inner', 'left', 'right', 'cross'] : ['inner', 'left', 'right', 'full', 'cross'];
}

/**
 * ON items: a relation between the new source and a visible one when there is one. PostgreSQL
 * runs a FULL JOIN only on equalities: `full` gets exactly one.
 */
function genOn(x: Gen, src: Src, visible: readonly ColRef[], full: boolean): OnItem[] {
  const items: OnItem[] = [];
  const related = RELATIONS.flatMap(([t1, c1, t2, c2]) => {
    const out: Array<[ColRef, ColRef]> = [];
    for (const [a, ca, b, cb] of [
      [t1, c1, t2, c2],
      [t2, c2, t1, c1],
    ] as const) {
      if (src.table !== a) continue;
      const left = src.cols.find((c) => c.col === ca);
      for (const right of visible.filter((v) => v.from === `${b}.${cb}`)) if (left) out.push([left, right]);
    }
    return out;
  });
  if (related.length > 0 && x.int(0, 9) < 7) {
    const [left, right] = x.pick(related);
    items.push({ k: 'cols', or: false, left, op: '=', right });
  } else {
    const left = x.pick(full ? src.cols.filter((c) => visible.some((v) => v.ty === c.ty)) : src.cols);
    const same = columnsOfType(visible, left.ty);
    if (same.length > 0) {
      items.push({ k: 'cols', or: false, left, op: !full && x.chance(15) ? x.pick(OPS) : '=', right: x.pick(same) });
    } else {
      items.push({ k: 'null', or: false, col: left, not: true });
    }
  }
  const extra = full || x.int(0, 9) < 7 ? 0 : x.int(1, 2);
  const all = [...src.cols, ...visible];
  for (let i = 0; i < extra; i++) {
    const or = x.chance(30);
    const col = x.pick(all);
    const roll = x.int(0, 2);
    if (roll === 0) items.push({ k: 'val', or, col, value: x.value(col) });
    else if (roll === 1) items.push({ k: 'in', or, col, values: [x.value(col), x.value(col)] });
    else items.push({ k: 'null', or, col, not: x.chance(50) });
  }
  return items;
}

function genJoin(x: Gen, level: Level, left: Src[], visible: readonly ColRef[]): { join: Join; src: Src } {
  const kind = x.pick(joinKinds(x));
  const src = genSource(x, level);
  if (kind === 'cross') return { join: { kind, source: src.source, on: [] }, src };
  // USING needs the column on both sides, and unambiguous on the left: only right after FROM
  if (left.length === 1 && x.chance(10)) {
    const names = src.cols.map((c) => c.col).filter((n) => left[0]!.cols.some((c) => c.col === n));
    if (names.length > 0) return { join: { kind, source: src.source, on: { using: x.pick(names) } }, src };
  }
  // a FULL JOIN needs an equality between the sides: without a same-typed pair, a left join
  const pairable = src.cols.some((c) => visible.some((v) => v.ty === c.ty));
  const k = kind === 'full' && !pairable ? 'left' : kind;
  return { join: { kind: k, source: src.source, on: genOn(x, src, visible, k === 'full') }, src };
}

const PRED_WEIGHTS: ReadonlyArray<[Pred['k'], number]> = [
  ['cmp', 30],
  ['in', 12],
  ['inSub', 10],
  ['exists', 8],
  ['null', 8],
  ['between', 6],
  ['like', 6],
  ['group', 10],
  ['cmpCol', 6],
  ['raw', 4],
];

function predKind(x: Gen): Pred['k'] {
  const total = PRED_WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let roll = x.int(0, total - 1);
  for (const [k, w] of PRED_WEIGHTS) {
    if (roll < w) return k;
    roll -= w;
  }
  return 'cmp';
}

export interface PredContext {
  readonly depth: number;
  readonly ctes: readonly CteInfo[];
  /** Tables a subquery may not read (MySQL refuses a subquery on the table being written). */
  readonly avoid?: readonly string[];
}

export function genPred(x: Gen, cols: readonly ColRef[], ctx: PredContext): Pred {
  const k = predKind(x);
  const col = x.pick(cols);
  const ints = columnsOfType(cols, 'int');
  const strs = columnsOfType(cols, 'str');
  const sub = (opts: Omit<SelectOptions, 'depth' | 'ctes'>) =>
    genSelect(x, { depth: ctx.depth + 1, ctes: ctx.ctes, avoid: ctx.avoid, ...opts });
  switch (ctx.depth >= 2 && (k === 'inSub' || k === 'exists' || k === 'group') ? 'cmp' : k) {
    case 'in':
      return { k: 'in', col, values: Array.from({ length: x.int(0, 3) }, () => x.value(col)), not: x.chance(25) };
    case 'inSub':
      return { k: 'inSub', col, sub: sub({ shape: [col.ty], outer: cols }), not: x.chance(25) };
    case 'exists':
      return { k: 'exists', sub: sub({ outer: cols, correlate: true }), not: x.chance(30) };
    case 'null':
      return { k: 'null', col, not: x.chance(50) };
    case 'between': {
      if (ints.length === 0) break;
      const lo = x.int(0, 120);
      return { k: 'between', col: x.pick(ints), lo, hi: lo + x.int(0, 300) };
    }
    case 'like': {
      if (strs.length === 0) break;
      const c = x.pick(strs);
      const v = String(x.value(c));
      return { k: 'like', col: c, pattern: x.chance(50) ? `${v.slice(0, 2)}%` : `%${v.slice(1, 3)}%` };
    }
    case 'group':
      return {
        k: 'group',
        items: genWhere(x, cols, { ...ctx, depth: ctx.depth + 1 }, 1, 3),
        not: x.chance(25),
      };
    case 'cmpCol': {
      const same = columnsOfType(cols, col.ty);
      return { k: 'cmpCol', col, op: x.pick(OPS), other: x.pick(same) };
    }
    case 'raw':
      return genRaw(x, col);
    default:
      break;
  }
  return { k: 'cmp', col, op: x.int(0, 9) < 6 ? '=' : x.pick(OPS), value: x.value(col) };
}

/** Raw fragments: harmless ones must run; one naming a scoped table must be refused. */
function genRaw(x: Gen, col: ColRef): Pred {
  const name = col.q ? `${col.q}.${col.col}` : col.col;
  const roll = x.int(0, 9);
  if (roll < 5) return { k: 'raw', sql: '?? is not null', bindings: [name] };
  if (roll < 8 || col.ty !== 'int') {
    return { k: 'raw', sql: 'exists (select 1 from tags where tags.id = ?)', bindings: [x.int(0, 5)], table: 'tags' };
  }
  x.expect.add('raw-scoped');
  const table = x.pick(SCOPED_TABLES);
  return { k: 'raw', sql: `?? in (select id from ${table})`, bindings: [name], table };
}

export function genWhere(x: Gen, cols: readonly ColRef[], ctx: PredContext, min: number, max: number): WhereItem[] {
  const n = x.int(min, max);
  return Array.from({ length: n }, (_, i) => ({ or: i > 0 && x.chance(35), pred: genPred(x, cols, ctx) }));
}

interface SelectOptions {
  readonly depth: number;
  readonly ctes: readonly CteInfo[];
  /** Exactly these output types, plain columns (IN subqueries, compound members). */
  readonly shape?: readonly Ty[];
  /** One aggregate, one row (a select subquery). */
  readonly scalar?: boolean;
  /** Columns of the enclosing query, for correlation. */
  readonly outer?: readonly ColRef[];
  readonly correlate?: boolean;
  /** The top of a read: may order and limit. */
  readonly top?: boolean;
  readonly withCtes?: boolean;
  readonly avoid?: readonly string[];
}

function genCtes(x: Gen, level: Omit<Level, 'used'>): { ctes: Cte[]; infos: CteInfo[] } {
  const ctes: Cte[] = [];
  const infos: CteInfo[] = [...level.ctes];
  const n = x.chance(15) ? x.int(1, 2) : 0;
  for (let i = 0; i < n; i++) {
    const query = genSelect(x, { depth: level.depth + 1, ctes: infos });
    const roll = x.int(0, 99);
    let name = roll >= 95 ? x.pick(SCOPED_TABLES) : roll >= 88 ? 'tags' : `w${i}`;
    if (infos.some((c) => c.name === name)) name = `w${i}`;
    if (SCOPED_TABLES.includes(name)) x.expect.add('cte-shadow');
    ctes.push({ name, query });
    infos.push({ name, cols: outputs(query) });
  }
  return { ctes, infos };
}

function genAgg(x: Gen, cols: readonly ColRef[], as: string): SelectItem {
  const fn = x.pick<AggFn>(['count', 'count', 'countDistinct', 'sum', 'min', 'max', 'avg']);
  const ints = columnsOfType(cols, 'int');
  if (fn === 'count' && x.chance(50)) return { k: 'agg', fn, as };
  if ((fn === 'sum' || fn === 'avg') && ints.length === 0) return { k: 'agg', fn: 'count', as };
  const col = fn === 'sum' || fn === 'avg' ? x.pick(ints) : x.pick(cols);
  return { k: 'agg', fn, col, as };
}

function genOrder(x: Gen): Order {
  const roll = x.int(0, 99);
  if (roll < 55) return { k: 'none' };
  if (roll < 85) return { k: 'total', desc: x.chance(30) };
  return { k: 'some' };
}

export function genSelect(x: Gen, opts: SelectOptions): Select {
  const { ctes, infos } = opts.withCtes ? genCtes(x, opts) : { ctes: [], infos: [...opts.ctes] };
  const level: Level = { depth: opts.depth, ctes: infos, used: new Set() };
  const constrained = opts.shape !== undefined || opts.scalar === true;
  const avoid = new Set(opts.avoid ?? []);
  // a shaped select reads a base table that has every type it needs
  const fromTables = READ_TABLES.filter(
    (t) => !avoid.has(t) && (opts.shape ?? []).every((ty) => TABLE.get(t)?.columns.some((c) => c.ty === ty)),
  );
  const from = constrained || avoid.size > 0 ? tableSource(x, level, fromTables) : genSource(x, level);
  const sources: Src[] = [from];
  const joins: Join[] = [];
  let visible = [...from.cols];
  const joinCount = opts.scalar || avoid.size > 0 ? 0 : x.int(0, opts.depth === 0 ? 3 : 1);
  for (let i = 0; i < joinCount; i++) {
    const { join, src } = genJoin(x, level, sources, visible);
    joins.push(join);
    sources.push(src);
    visible = [...visible, ...src.cols];
  }

  const ctx: PredContext = { depth: opts.depth, ctes: infos, ...(opts.avoid ? { avoid: opts.avoid } : {}) };
  const where = genWhere(x, visible, ctx, 0, opts.depth === 0 ? 3 : 2);
  if (opts.outer && opts.outer.length > 0 && (opts.correlate || opts.scalar || x.chance(30)) && x.int(0, 9) < 7) {
    const outer = x.pick(opts.outer);
    const inner = columnsOfType(visible, outer.ty);
    if (inner.length > 0)
      where.unshift({ or: false, pred: { k: 'cmpCol', col: x.pick(inner), op: '=', other: outer } });
  }

  let items: SelectItem[] = [];
  let groupBy: ColRef[] = [];
  let having: Having[] = [];
  let distinct = false;
  if (opts.scalar) {
    items = [genAgg(x, visible, 'o0')];
  } else if (opts.shape) {
    items = opts.shape.map((ty, i) => ({ k: 'col', col: x.pick(columnsOfType(visible, ty)), as: `o${i}` }));
    distinct = x.chance(20);
  } else if (x.chance(25)) {
    groupBy = Array.from({ length: x.int(0, 2) }, () => x.pick(visible));
    groupBy = groupBy.filter((c, i) => groupBy.findIndex((d) => d.q === c.q && d.col === c.col) === i);
    items = groupBy.map((col, i) => ({ k: 'col', col, as: `o${i}` }));
    const aggs = x.int(1, 2);
    for (let i = 0; i < aggs; i++) items.push(genAgg(x, visible, `o${items.length}`));
    // MariaDB 10.11 keeps the row of an empty ungrouped aggregate whatever its HAVING says (a
    // server bug): MySQL gets HAVING with GROUP BY only
    const havingAllowed = x.dialect !== 'mysql' || groupBy.length > 0;
    if (havingAllowed && x.chance(30)) {
      const ints = columnsOfType(visible, 'int');
      const hcol = ints.length > 0 ? x.pick(ints) : x.pick(visible);
      having = [
        {
          or: false,
          fn: hcol.ty === 'int' ? x.pick(['count', 'sum', 'max', 'min'] as const) : 'count',
          col: hcol,
          op: x.pick(OPS),
          value: x.int(0, 6),
        },
      ];
    }
  } else if (x.chance(10)) {
    items = [{ k: 'star', q: from.q, cols: from.cols }];
    distinct = x.chance(15);
  } else {
    const n = x.int(1, 4);
    items = Array.from({ length: n }, (_, i) => ({ k: 'col', col: x.pick(visible), as: `o${i}` }));
    // MariaDB 10.11 evaluates a select-list subquery of a derived table on the null side of an
    // outer join (count() = 0 instead of NULL): a server bug, so MySQL keeps them at the top
    const subqueryItems = x.dialect === 'mysql' ? opts.depth === 0 : opts.depth < 2;
    if (subqueryItems && x.chance(12)) {
      const sub = genSelect(x, { depth: opts.depth + 1, ctes: infos, scalar: true, outer: visible });
      items.push({ k: 'sub', sub, as: `o${items.length}` });
    }
    distinct = x.chance(15);
  }

  const order: Order = opts.top ? genOrder(x) : { k: 'none' };
  const limited = order.k === 'total' && x.chance(35);
  return {
    k: 'select',
    ctes,
    distinct,
    from: from.source,
    joins,
    where,
    items,
    groupBy,
    having,
    order,
    ...(limited ? { limit: x.int(0, 5) } : {}),
    ...(limited && x.chance(30) ? { offset: x.int(1, 3) } : {}),
  };
}

function genCompound(x: Gen): Compound {
  const shape = Array.from({ length: x.int(1, 3) }, () => x.pick<Ty>(['int', 'str']));
  const member = () => genSelect(x, { depth: 1, ctes: [], shape });
  const first = member();
  const ops: SetOp[] = ['union', 'unionAll', 'intersect', 'except'];
  const rest = Array.from({ length: x.int(1, 2) }, () => ({ op: x.pick(ops), query: member() }));
  const order = genOrder(x);
  const limited = order.k === 'total' && x.chance(35);
  return { k: 'compound', first, rest, order, ...(limited ? { limit: x.int(0, 5) } : {}) };
}

export function genRead(x: Gen): Read {
  if (x.chance(12)) return genCompound(x);
  return genSelect(x, { depth: 0, ctes: [], top: true, withCtes: true });
}
