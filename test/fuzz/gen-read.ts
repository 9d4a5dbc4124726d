// Generators of reads: sources (tables, aliases, derived tables, CTEs), joins of every kind the
// dialect has, WHERE trees with subqueries, aggregates, select subqueries, compounds.
import type {
  AggFn,
  CmpOp,
  ColRef,
  CommaItem,
  Compound,
  Cte,
  Having,
  Join,
  JoinKind,
  Member,
  OnItem,
  Order,
  Pred,
  RawFrag,
  Read,
  Select,
  SelectItem,
  SetOp,
  Source,
  WhereItem,
  WindowFn,
} from './ast';
import { outputs } from './ast';
import { genCommaShadow } from './gen-comma';
import { columnsOfType, type Gen } from './gen-context';
import { genPathJoins } from './gen-path-joins';
import {
  boundRaw,
  cteRaw,
  existsRawFrag,
  exprFrag,
  fromRawSource,
  groupRawFrag,
  havingCmpFrags,
  havingRawFrag,
  inRawValues,
  joinRawFrag,
  jsonRaw,
  offsetRawFrag,
  orderRawFrag,
  rawCteRead,
  rawStatement,
  selectRaw,
  unbalancedJoin,
  unbalancedPredicate,
  unbalancedValue,
  unionRaw,
  whereRawFrag,
  windowRaw,
} from './gen-raw';
import { maybeSqlString, withSqlString } from './gen-sql-string';
import { RELATIONS, SCOPED_TABLES, TABLE, TABLES, type Ty, UNSCOPED_TABLES } from './world';

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
  /** Columns of the enclosing queries' sources, whose aliases this SELECT may take again (c10). */
  readonly shadow: readonly ColRef[];
}

const OPS: readonly CmpOp[] = ['=', '<>', '<', '>', '<=', '>='];

export function tableCols(table: string, q: string): ColRef[] {
  return (TABLE.get(table)?.columns ?? []).map((c) => ({ q, col: c.name, ty: c.ty, from: `${table}.${c.name}` }));
}

/**
 * An alias of an enclosing query this SELECT may take again (c10), and the table under it when
 * it is a table: the subquery's own `a` then hides the enclosing `a`, and a name the library
 * placed by the qualifier `a` where `a` is not in sight would bind to the enclosing one. Mostly
 * one whose columns include a deep table's FK column (`comments.task_id`), as in the review.
 */
function shadowTarget(x: Gen, level: Level): { q: string; table?: string } | undefined {
  if (level.shadow.length === 0 || !x.chance(SHADOW_PERCENT)) return undefined;
  const byQ = new Map<string, ColRef[]>();
  for (const c of level.shadow) {
    if (!/^\w+$/.test(c.q) || level.used.has(c.q)) continue;
    byQ.set(c.q, [...(byQ.get(c.q) ?? []), c]);
  }
  if (byQ.size === 0) return undefined;
  const qs = [...byQ.keys()];
  const deep = qs.filter((q) => byQ.get(q)!.some((c) => c.col === 'task_id'));
  const q = x.pick(deep.length > 0 && x.chance(60) ? deep : qs);
  const cols = byQ.get(q)!;
  const tables = new Set(cols.map((c) => c.from?.split('.')[0]));
  const table = tables.size === 1 ? [...tables][0] : undefined;
  return table && TABLE.get(table)?.columns.length === cols.length ? { q, table } : { q };
}

const SHADOW_PERCENT = 25;
const COMMA_PERCENT = 8;
const UNQUALIFIED_PERCENT = 15;

function tableSource(x: Gen, level: Level, tables: readonly string[], needAlias = false): Src {
  const shadow = shadowTarget(x, level);
  const table =
    shadow?.table !== undefined && tables.includes(shadow.table) && x.chance(75) ? shadow.table : x.pick(tables);
  const roll = shadow ? 0 : x.int(0, 99);
  let alias: string | undefined;
  if (shadow) {
    alias = shadow.q;
    x.tag('c10', level.depth > 0 ? 'alias of an enclosing query taken again' : 'alias taken again');
  } else if (roll < 60 || (roll < 90 && level.used.has(table))) alias = x.alias();
  else if (roll >= 90) {
    // an alias that is another table's name: filters must follow the alias, not the name
    const evil = TABLES.map((t) => t.name).filter((n) => n !== table && !level.used.has(n));
    alias = evil.length > 0 ? x.pick(evil) : x.alias();
    if (SCOPED_TABLES.includes(table) && x.chance(15)) {
      // `pages as public.pages`: one name to the SQL, schema.table to a column string (refused)
      alias = `${x.pick(['public', 'main', 'x'])}.${table}`;
      x.expect.add('dotted-alias');
      x.tag('c7', 'alias with a dot');
    }
  }
  if (needAlias && alias === undefined) alias = x.alias();
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

/**
 * A comma join (c10): `from({ a: 't1', b: 't2' })` (maybe a derived table among them) or
 * `from(['t1', 't2'])`, the deep table (comments) often before the last item, where a join
 * placed after the FROM could not see it.
 */
function genComma(
  x: Gen,
  level: Level,
  tables: readonly string[],
  tablesOnly: boolean,
): { form: 'object' | 'array'; items: Src[] } {
  const form = x.chance(30) ? 'array' : 'object';
  const n = x.chance(90) ? 2 : 3;
  const deepFirst = tables.includes('comments') && x.chance(35);
  const items: Src[] = [];
  for (let i = 0; i < n; i++) {
    const pool = i === 0 && deepFirst ? ['comments'] : tables;
    if (form === 'array') {
      // Knex aliases the items "0", "1", …: an enclosing array form's "0" is hidden by this one's
      const table = x.pick(pool);
      const q = String(i);
      const schema = x.dialect !== 'mysql' && x.chance(10) ? (x.dialect === 'pg' ? 'public' : 'main') : undefined;
      level.used.add(q);
      items.push({
        source: { k: 'table', table, alias: q, ...(schema ? { schema } : {}) },
        cols: tableCols(table, q),
        table,
        q,
      });
    } else if (!tablesOnly && level.depth < 2 && i > 0 && x.chance(15)) {
      const placed = items.flatMap((s) => s.cols);
      const sub = genSelect(x, { depth: level.depth + 1, ctes: level.ctes, shadow: [...level.shadow, ...placed] });
      const alias = x.alias();
      level.used.add(alias);
      items.push({ source: { k: 'sub', sub, alias }, cols: outputs(sub).map((c) => ({ ...c, q: alias })), q: alias });
      x.tag('c10', 'derived table in a comma join');
    } else {
      items.push(tableSource(x, level, pool, true));
    }
  }
  x.tag('c10', `comma join (${form} form)${level.depth > 0 ? ' in a subquery' : ''}`);
  if (items.slice(0, -1).some((s) => s.table === 'comments')) x.tag('c10', 'deep table before the last comma item');
  return { form, items };
}

function commaSource(form: 'object' | 'array', items: readonly Src[]): Source {
  const commaItems = items.map((s): CommaItem => {
    if (s.source.k === 'sub') return { k: 'sub', sub: s.source.sub, alias: s.q };
    const t = s.source as Extract<Source, { k: 'table' }>;
    return { k: 'table', table: t.table, alias: s.q, ...(t.schema ? { schema: t.schema } : {}) };
  });
  return { k: 'comma', form, items: commaItems };
}

function genSource(x: Gen, level: Level, inJoin = false, placed: readonly ColRef[] = []): Src {
  const roll = x.int(0, 99);
  if (level.ctes.length > 0 && roll >= 85) {
    const cte = x.pick(level.ctes);
    let alias = x.chance(50) || level.used.has(cte.name) ? x.alias() : undefined;
    const shadowing = SCOPED_TABLES.filter((t) => !level.used.has(t));
    if (alias && shadowing.length > 0 && x.chance(20)) {
      // an alias named like a scoped table: it names the CTE, nothing is filtered or refused
      alias = x.pick(shadowing);
      x.tag('c7', 'CTE aliased like a scoped table');
    }
    const q = alias ?? cte.name;
    level.used.add(q);
    const cols = cte.cols.map((c) => ({ ...c, q }));
    return { source: alias ? { k: 'cte', name: cte.name, alias } : { k: 'cte', name: cte.name }, cols, q };
  }
  if (level.depth < 2 && roll >= 71 && roll < 75) {
    const alias = x.alias();
    level.used.add(alias);
    const sub = () => genSelect(x, { depth: level.depth + 1, ctes: level.ctes });
    const { source, cols } = fromRawSource(x, alias, sub, !inJoin);
    return { source, cols, q: alias };
  }
  if (level.depth < 2 && roll >= 75) {
    // a derived table may take an alias of this query or an enclosing one again
    const sub = genSelect(x, { depth: level.depth + 1, ctes: level.ctes, shadow: [...level.shadow, ...placed] });
    const alias = x.alias();
    level.used.add(alias);
    return { source: { k: 'sub', sub, alias }, cols: outputs(sub).map((c) => ({ ...c, q: alias })), q: alias };
  }
  return tableSource(x, level, x.readTables);
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
    const roll = x.int(0, 9);
    if (roll < 3) items.push({ k: 'val', or, col, value: maybeSqlString(x, col.ty, 'onVal', 'value') ?? x.value(col) });
    else if (roll < 6) items.push({ k: 'in', or, col, values: [x.value(col), x.value(col)] });
    else if (roll < 8) items.push({ k: 'null', or, col, not: x.chance(50) });
    else if (roll < 9) items.push({ k: 'valRaw', or, col, raw: exprFrag(x, col.ty, all, 30, 'onVal raw') });
    else items.push({ k: 'colRaw', or, left: col, op: x.pick(OPS), raw: exprFrag(x, col.ty, all, 30, 'on raw') });
  }
  return items;
}

function genJoin(x: Gen, level: Level, left: Src[], visible: readonly ColRef[]): { join: Join; src: Src } {
  if (x.chance(5)) {
    const alias = x.alias();
    level.used.add(alias);
    const sub = () => genSelect(x, { depth: Math.min(level.depth + 1, 2), ctes: level.ctes });
    const { raw, cols } = joinRawFrag(x, alias, visible, sub);
    return { join: { kind: 'raw', raw, alias }, src: { source: { k: 'raw', raw, alias }, cols, q: alias } };
  }
  const kind = x.pick(joinKinds(x));
  const src = genSource(x, level, true, visible);
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
  ['cmpRaw', 4],
  ['inRaw', 3],
  ['existsRaw', 1],
  ['betweenRaw', 1],
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
    case 'in': {
      const values = Array.from({ length: x.int(0, 3) }, () => x.value(col));
      return { k: 'in', col, values: withSqlString(x, values, col.ty, 'whereIn list'), not: x.chance(25) };
    }
    case 'inSub':
      return { k: 'inSub', col, sub: sub({ shape: [col.ty], outer: cols, shadow: cols }), not: x.chance(25) };
    case 'exists':
      return { k: 'exists', sub: sub({ outer: cols, shadow: cols, correlate: true }), not: x.chance(30) };
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
    case 'raw': {
      const raw = whereRawFrag(x, col, ctx.avoid);
      if (!x.chance(25)) return { k: 'raw', raw };
      x.tag('c4', 'where(raw)');
      return { k: 'raw', raw, form: 'where' };
    }
    case 'existsRaw':
      return { k: 'existsRaw', raw: existsRawFrag(x, ctx.avoid), not: x.chance(30) };
    case 'betweenRaw': {
      if (ints.length === 0) break;
      const lo = x.int(0, 120);
      const hi = lo + x.int(0, 300);
      const loRaw = x.chance(60);
      return {
        k: 'betweenRaw',
        col: x.pick(ints),
        lo: loRaw ? boundRaw(x, lo, ctx.avoid) : lo,
        hi: !loRaw || x.chance(50) ? boundRaw(x, hi, ctx.avoid) : hi,
      };
    }
    case 'cmpRaw': {
      const not = x.chance(25);
      const raw = exprFrag(x, col.ty, cols, 25, not ? 'whereNot value raw' : 'where value raw', ctx.avoid);
      return { k: 'cmpRaw', col, op: x.int(0, 9) < 6 ? '=' : x.pick(OPS), raw, not };
    }
    case 'inRaw':
      return { k: 'inRaw', col, values: inRawValues(x, col, ctx.avoid), not: x.chance(25) };
    default:
      break;
  }
  const op = x.int(0, 9) < 6 ? '=' : x.pick(OPS);
  return { k: 'cmp', col, op, value: maybeSqlString(x, col.ty, 'where value', 'where') ?? x.value(col) };
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
  /** Columns of enclosing queries' sources, whose aliases this SELECT may take again (c10). */
  readonly shadow?: readonly ColRef[];
  readonly correlate?: boolean;
  /** The top of a read: may order and limit. */
  readonly top?: boolean;
  readonly withCtes?: boolean;
  readonly avoid?: readonly string[];
}

function genCtes(x: Gen, level: Omit<Level, 'used' | 'shadow'>): { ctes: Cte[]; infos: CteInfo[] } {
  const ctes: Cte[] = [];
  const infos: CteInfo[] = [...level.ctes];
  const n = x.chance(15) ? x.int(1, 2) : 0;
  for (let i = 0; i < n; i++) {
    const raw = x.chance(20) ? cteRaw(x) : undefined;
    const query = raw ? undefined : genSelect(x, { depth: level.depth + 1, ctes: infos });
    const roll = x.int(0, 99);
    let name = roll >= 95 && !x.unscopedOnly ? x.pick(SCOPED_TABLES) : roll >= 88 ? 'tags' : `w${i}`;
    if (infos.some((c) => c.name.toLowerCase() === name.toLowerCase())) name = `w${i}`;
    if (SCOPED_TABLES.includes(name)) {
      x.expect.add('cte-shadow');
      x.tag('c7', 'with() named like a scoped table');
      // SQLite and MySQL compare names without case (PostgreSQL's quoted "PROJECTS" is another name)
      if (x.dialect !== 'pg' && x.chance(30)) name = name.toUpperCase();
    }
    let cols = raw ? raw.cols : outputs(query!);
    if (query && x.chance(15)) {
      // with(name, [columns], query): the CTE's own column names
      const columns = cols.map((_, j) => `c${j}`);
      cols = cols.map((c, j) => ({ ...c, col: columns[j]! }));
      ctes.push({ name, query, columns });
      x.tag('c7', 'with() and a column list');
    } else ctes.push(raw ? { name, raw: raw.raw } : { name, query: query! });
    infos.push({ name, cols });
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
  const level: Level = { depth: opts.depth, ctes: infos, used: new Set(), shadow: opts.shadow ?? [] };
  const constrained = opts.shape !== undefined || opts.scalar === true;
  const avoid = new Set(opts.avoid ?? []);
  // a shaped select reads a base table that has every type it needs
  const fromTables = x.readTables.filter(
    (t) => !avoid.has(t) && (opts.shape ?? []).every((ty) => TABLE.get(t)?.columns.some((c) => c.ty === ty)),
  );
  const plain = constrained || avoid.size > 0;
  const drawn = x.chance(COMMA_PERCENT) ? genComma(x, level, plain ? fromTables : x.readTables, plain) : undefined;
  const comma = drawn?.items;
  const from: Src = drawn
    ? { source: commaSource(drawn.form, drawn.items), cols: drawn.items.flatMap((s) => s.cols), q: '' }
    : plain
      ? tableSource(x, level, fromTables)
      : genSource(x, level);
  const sources: Src[] = comma ? [...comma] : [from];
  const joins: Join[] = [];
  let visible = [...from.cols];
  // the ON clause of a join after a comma join sees its last item only (PostgreSQL, MySQL; SQLite
  // reads `a, b join c` left to right)
  let onVisible = comma && x.dialect !== 'sqlite' ? [...comma[comma.length - 1]!.cols] : visible;
  // (a comma join is a cross product already: one join after it at most)
  const joinCount = opts.scalar || avoid.size > 0 ? 0 : x.int(0, opts.depth === 0 && !comma ? 3 : 1);
  for (let i = 0; i < joinCount; i++) {
    const { join, src } = genJoin(x, level, sources, onVisible);
    joins.push(join);
    sources.push(src);
    visible = [...visible, ...src.cols];
    onVisible = [...onVisible, ...src.cols];
  }

  const ctx: PredContext = { depth: opts.depth, ctes: infos, ...(opts.avoid ? { avoid: opts.avoid } : {}) };
  const where = genWhere(x, visible, ctx, 0, opts.depth === 0 ? 3 : 2);
  // the enclosing query's columns this level does not hide (an alias it took again names its own source)
  const outerCols = (opts.outer ?? []).filter((c) => !level.used.has(c.q));
  const shadowed = (opts.outer ?? []).some((c) => level.used.has(c.q));
  if (outerCols.length > 0 && (opts.correlate || opts.scalar || x.chance(30)) && x.int(0, 9) < 7) {
    // often one named like the deep table's FK column (comments.task_id), next to an alias taken again
    const deep = outerCols.filter((c) => c.col === 'task_id');
    const outer = x.pick(deep.length > 0 && x.chance(shadowed ? 60 : 20) ? deep : outerCols);
    const inner = columnsOfType(visible, outer.ty);
    if (inner.length > 0) {
      where.unshift({ or: false, pred: { k: 'cmpCol', col: x.pick(inner), op: '=', other: outer } });
      if (shadowed) x.tag('c10', 'correlated past an alias taken again');
    }
  }
  if (opts.outer && opts.outer.length > 0 && x.chance(UNQUALIFIED_PERCENT)) {
    // an enclosing column by its bare name: one no source of this level has, and one source of
    // the enclosing level only (else it is ambiguous there)
    const here = new Set(visible.map((c) => c.col));
    const times = new Map<string, number>();
    for (const c of opts.outer) times.set(c.col, (times.get(c.col) ?? 0) + 1);
    const bare = opts.outer.filter((c) => times.get(c.col) === 1 && !here.has(c.col));
    if (bare.length > 0) {
      const outer = x.pick(bare);
      const inner = columnsOfType(visible, outer.ty);
      if (inner.length > 0) {
        const other: ColRef = { ...outer, q: '' };
        where.push({ or: x.chance(20), pred: { k: 'cmpCol', col: x.pick(inner), op: '=', other } });
        x.tag('c10', 'enclosing column unqualified');
      }
    }
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
    if (havingAllowed && x.chance(8)) {
      having = [{ k: 'raw', or: false, raw: havingRawFrag(x) }];
    } else if (havingAllowed && x.chance(4)) {
      having = [{ k: 'rawCmp', or: false, op: x.pick(OPS), ...havingCmpFrags(x) }];
    } else if (havingAllowed && x.chance(30)) {
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
    const star = comma ? x.pick(comma) : from;
    items = [{ k: 'star', q: star.q, cols: star.cols }];
    distinct = x.chance(15);
  } else {
    const n = x.int(1, 4);
    items = Array.from({ length: n }, (_, i) => ({ k: 'col', col: x.pick(visible), as: `o${i}` }));
    // in a subquery, an output named as its column now and then: a derived table's `task_id`
    // is an enclosing column named like the deep table's FK (c10)
    if (opts.depth > 0 && x.chance(15)) {
      items = items.map((item, i) =>
        item.k === 'col' && items.findIndex((o) => o.k === 'col' && o.col.col === item.col.col) === i
          ? { ...item, as: item.col.col }
          : item,
      );
    }
    // MariaDB 10.11 evaluates a select-list subquery of a derived table on the null side of an
    // outer join (count() = 0 instead of NULL): a server bug, so MySQL keeps them at the top
    const subqueryItems = x.dialect === 'mysql' ? opts.depth === 0 : opts.depth < 2;
    if (subqueryItems && x.chance(12)) {
      const sub = genSelect(x, { depth: opts.depth + 1, ctes: infos, scalar: true, outer: visible, shadow: visible });
      items.push({ k: 'sub', sub, as: `o${items.length}` });
    }
    if (subqueryItems && x.chance(7)) {
      const { raw, ty, form } = selectRaw(x, visible, `o${items.length}`);
      items.push({ k: 'raw', raw, as: `o${items.length}`, ty, form });
    }
    // at the top only: PostgreSQL's jsonb_path_query answers jsonb, which compares with nothing else
    if (opts.depth === 0 && x.chance(3)) {
      const { raw, ty } = jsonRaw(x, visible);
      items.push({ k: 'json', raw, as: `o${items.length}`, ty });
    }
    // last, so that it sees every output: rowNumber is deterministic only ordered by all of them
    if (opts.depth === 0 && x.chance(6)) items.push(genWindow(x, visible, items));
    distinct = x.chance(15);
  }

  const order: Order = opts.top ? genOrder(x) : { k: 'none' };
  const limited = order.k === 'total' && x.chance(35);
  const offset = limited && x.chance(30) ? x.int(1, 3) : undefined;
  return {
    k: 'select',
    ctes,
    distinct,
    from: from.source,
    joins,
    where,
    items,
    groupBy,
    ...(groupBy.length > 0 && x.chance(12) ? { groupRaw: groupRawFrag(x, groupBy) } : {}),
    having,
    order,
    ...(opts.top && order.k !== 'some' && x.chance(6) ? { orderRaw: orderRawFrag(x, !distinct) } : {}),
    ...(limited ? { limit: x.int(0, 5) } : {}),
    ...(offset !== undefined ? { offset: x.chance(25) ? offsetRawFrag(x, offset) : offset } : {}),
  };
}

/**
 * `rank(as, raw('order by …'))`: over the plain columns selected so far. `rowNumber` orders by
 * all of them, so that rows it cannot tell apart are the same output row (deterministic).
 */
function genWindow(x: Gen, visible: readonly ColRef[], items: readonly SelectItem[]): SelectItem {
  // with an output that is not a plain column (a subquery, a raw, JSON), rows that tie on the
  // columns could get their row numbers either way: only rank() and dense_rank() then
  const onlyColumns = items.every((i) => i.k === 'col');
  const fn = x.pick<WindowFn>(onlyColumns ? ['rank', 'denseRank', 'rowNumber'] : ['rank', 'denseRank']);
  const cols = items.flatMap((i) => (i.k === 'col' ? [i.col] : []));
  const raw: RawFrag = windowRaw(x, visible, cols, fn === 'rowNumber');
  return { k: 'window', fn, raw, as: `o${items.length}` };
}

/**
 * An unbalanced raw (c8) in one clause of a simple read, alone there (or ORed), so that the
 * oracle's balanced superset (`1 = 1`) makes the clause true: whatever the scoped run returns
 * without a refusal must be among the oracle's rows.
 */
function genUnbalanced(x: Gen): Read {
  x.expect.add('unbalanced');
  const table = x.pick(x.chance(85) ? SCOPED_TABLES : UNSCOPED_TABLES);
  const a0 = x.alias();
  const cols = tableCols(table, a0);
  const base: Select = {
    k: 'select',
    ctes: [],
    distinct: false,
    from: { k: 'table', table, alias: a0 },
    joins: [],
    where: [],
    items: [{ k: 'star', q: a0, cols }],
    groupBy: [],
    having: [],
    order: { k: 'none' },
  };
  const slot = x.int(0, 7);
  const always: RawFrag = { k: 'frag', sql: '1 = 1', bindings: [] };
  if (slot === 0) {
    x.tag('c8', 'whereRaw');
    return { ...base, where: [{ or: false, pred: { k: 'raw', raw: unbalancedPredicate(x) } }] };
  }
  if (slot === 5) {
    // the value of where(col, op, raw): the oracle's superset drops the predicate
    x.tag('c8', 'where(col, raw)');
    const col = x.pick(cols);
    const oracle: Pred = { k: 'raw', raw: always };
    return {
      ...base,
      where: [{ or: false, pred: { k: 'cmpRaw', col, op: '=', raw: unbalancedValue(x), not: false, oracle } }],
    };
  }
  if (slot === 6) {
    x.tag('c8', 'whereIn(col, raw)');
    const col = x.pick(cols);
    const raw = { ...unbalancedValue(x), sql: 'select 0) or (1 = 1' };
    const oracle: Pred = { k: 'raw', raw: always };
    return { ...base, where: [{ or: false, pred: { k: 'inRaw', col, values: raw, not: false, oracle } }] };
  }
  if (slot === 7) {
    x.tag('c8', 'on(col, raw)');
    const a1 = x.alias();
    const other = x.pick(x.chance(70) ? SCOPED_TABLES : UNSCOPED_TABLES);
    const col = x.pick(tableCols(other, a1));
    const oracle: OnItem = { k: 'raw', or: false, raw: always };
    const on: OnItem[] = [{ k: 'colRaw', or: false, left: col, op: '=', raw: unbalancedValue(x), oracle }];
    return { ...base, joins: [{ kind: 'inner', source: { k: 'table', table: other, alias: a1 }, on }] };
  }
  if (slot === 1) {
    x.tag('c8', 'orWhereRaw');
    const col = x.pick(cols);
    const first: WhereItem = { or: false, pred: { k: 'cmp', col, op: '=', value: x.value(col) } };
    return { ...base, where: [first, { or: true, pred: { k: 'raw', raw: unbalancedPredicate(x) } }] };
  }
  if (slot === 2) {
    x.tag('c8', 'havingRaw');
    const col = x.pick(cols);
    return {
      ...base,
      items: [
        { k: 'col', col, as: 'o0' },
        { k: 'agg', fn: 'count', as: 'o1' },
      ],
      groupBy: [col],
      having: [{ k: 'raw', or: false, raw: unbalancedPredicate(x, 'count(*) > 0', 'count(*) >= 0') }],
    };
  }
  const a1 = x.alias();
  if (slot === 3) {
    x.tag('c8', 'on(raw)');
    const other = x.pick(x.chance(70) ? SCOPED_TABLES : UNSCOPED_TABLES);
    const join: Join = {
      kind: 'inner',
      source: { k: 'table', table: other, alias: a1 },
      on: [{ k: 'raw', or: false, raw: unbalancedPredicate(x) }],
    };
    return { ...base, joins: [join] };
  }
  x.tag('c8', 'joinRaw');
  const { raw } = unbalancedJoin(x, a1);
  return { ...base, joins: [{ kind: 'raw', raw, alias: a1 }] };
}

function genCompound(x: Gen): Compound {
  const shape = Array.from({ length: x.int(1, 3) }, () => x.pick<Ty>(['int', 'str']));
  const member = () => genSelect(x, { depth: 1, ctes: [], shape });
  const first = member();
  const ops: SetOp[] = ['union', 'unionAll', 'intersect', 'except'];
  const rest = Array.from({ length: x.int(1, 2) }, (): Member => {
    const op = x.pick(ops);
    const raw = (op === 'union' || op === 'unionAll') && x.chance(10) ? unionRaw(x, shape) : undefined;
    return raw ? { op, raw } : { op, query: member() };
  });
  const order = genOrder(x);
  const limited = order.k === 'total' && x.chance(35);
  return { k: 'compound', first, rest, order, ...(limited ? { limit: x.int(0, 5) } : {}) };
}

export function genRead(x: Gen): Read {
  const roll = x.int(0, 99);
  const sub = () => genSelect(x, { depth: 1, ctes: [] });
  if (roll >= 94) return rawStatement(x, sub);
  if (roll >= 92) return rawCteRead(x, sub);
  if (roll >= 89 && !x.unscopedOnly) return genUnbalanced(x);
  if (roll >= 79 && !x.unscopedOnly) return genPathJoins(x);
  if (roll >= 74 && !x.unscopedOnly) return genCommaShadow(x);
  if (x.chance(12)) return genCompound(x);
  return genSelect(x, { depth: 0, ctes: [], top: true, withCtes: true });
}
