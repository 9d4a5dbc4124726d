// Raw SQL for issue 21: fragments for every builder slot (c4), table references written every
// way a dialect reads them (c6) or bound as identifiers (c5), CTEs in raw text (c7) and
// unbalanced fragments (c8). Each comes in a harmless flavour, which must run and agree with the
// oracle, and one that reads a scoped table, which must be refused (`raw-scoped`).
import { type Binding, type ColRef, outputs, type RawFrag, type Read, type Select, type Source } from './ast';
import { columnsOfType, type Gen } from './gen-context';
import { maybeSqlString } from './gen-sql-string';
import { SCOPED_TABLES, type Scalar, TABLE, type Ty, UNSCOPED_TABLES } from './world';

/** A raw fragment's SQL and bindings as they are built: positional (`?`, `??`) or named (`:x`, `:x:`). */
export class RawText {
  private sql = '';
  private readonly positional: Binding[] = [];
  private readonly named: Record<string, Binding> = {};
  private count = 0;
  /** MySQL's whereRaw refuses arrays and plain objects among its bindings: no `??` to `[t]` or `{ a: t }`. */
  noObjects = false;

  constructor(readonly namedMode: boolean) {}

  text(s: string): this {
    this.sql += s;
    return this;
  }

  /** A value binding: `?`, or `:bN`. */
  value(b: Binding): this {
    if (!this.namedMode) {
      this.positional.push(b);
      return this.text('?');
    }
    const name = `b${this.count++}`;
    this.named[name] = b;
    return this.text(`:${name}`);
  }

  /** An identifier binding: `??`, or `:bN:`. */
  name(b: Binding): this {
    if (!this.namedMode) {
      this.positional.push(b);
      return this.text('??');
    }
    const name = `b${this.count++}`;
    this.named[name] = b;
    return this.text(`:${name}:`);
  }

  frag(oracleSql?: string): RawFrag {
    return {
      k: 'frag',
      sql: this.sql,
      bindings: this.namedMode && this.count > 0 ? { ...this.named } : [...this.positional],
      ...(oracleSql === undefined ? {} : { oracleSql }),
    };
  }
}

/** A `?` bound to `value`, or now and then (c11) to a value carrying `toSqlString()`: RAW_SQL_REFUSED. */
function bindValue(x: Gen, r: RawText, value: Scalar, ty: Ty, name: string): RawText {
  return r.value(maybeSqlString(x, ty, name, r.noObjects ? 'rawWhere' : 'raw') ?? value);
}

/** A fragment with no bindings. */
export const plain = (sql: string): RawFrag => ({ k: 'frag', sql, bindings: [] });

/** Named bindings in one raw in eight: they are another code path of Knex (and of a heuristic). */
export const rawText = (x: Gen) => new RawText(x.chance(12));

const ref = (c: ColRef) => (c.q ? `${c.q}.${c.col}` : c.col);

/** A column in raw text: the qualifier quoted when it is not a bare word (the array form's "0"). */
const textRef = (x: Gen, c: ColRef) => {
  if (!/^\d/.test(c.q)) return ref(c);
  return x.dialect === 'mysql' ? `\`${c.q}\`.${c.col}` : `"${c.q}".${c.col}`;
};

/** A minimal builder on a table, `select * from t`, for a `?` bound to a builder. */
function selectAll(table: string): Select {
  return {
    k: 'select',
    ctes: [],
    distinct: false,
    from: { k: 'table', table },
    joins: [],
    where: [],
    items: [],
    groupBy: [],
    having: [],
    order: { k: 'none' },
  };
}

type Form =
  | 'plain'
  | 'case'
  | 'dquote'
  | 'backtick'
  | 'bracket'
  | 'dquoteUpper'
  | 'schema'
  | 'string'
  | 'parens'
  | 'comment'
  | 'ref'
  | 'refAs'
  | 'rawName'
  | 'nestedRaw'
  | 'nameRef'
  | 'nameRaw'
  | 'unicode'
  | 'only'
  | 'name'
  | 'names'
  | 'nameAs'
  | 'builder';

/** The ways the dialect reads a table name written in raw SQL (c6), and the bindings (c5). */
function forms(x: Gen, aliased: boolean, noObjects: boolean): Form[] {
  const out: Form[] = [
    'plain',
    'plain',
    'plain',
    'comment',
    'ref',
    'refAs',
    'rawName',
    'nestedRaw',
    'name',
    'nameRef',
    'nameRaw',
  ];
  if (!noObjects) out.push('names', 'nameAs');
  out.push('builder');
  if (x.dialect !== 'mysql') out.push('case', 'dquote', 'schema');
  if (x.dialect === 'pg') out.push('unicode', 'only');
  if (x.dialect !== 'pg') out.push('backtick');
  if (x.dialect === 'sqlite') out.push('bracket', 'dquoteUpper', 'string');
  if (x.dialect !== 'pg' && !aliased) out.push('parens');
  return out;
}

const SHAPES: Partial<Record<Form, string>> = {
  case: 'letter case',
  dquote: 'double quotes',
  backtick: 'backticks',
  bracket: 'brackets',
  dquoteUpper: 'quoted upper case',
  schema: 'schema-qualified',
  string: "a 'string' name",
  parens: 'from (t)',
  comment: 'comments between tokens',
  unicode: 'PostgreSQL U&"\\0070…" name',
  only: 'PostgreSQL only t',
};

/**
 * Appends a table reference in FROM/JOIN position (`t as alias`, or `t` when `alias` is
 * undefined and the form allows it). Returns whether the raw SQL itself reads the table: false
 * for a bound builder, which is compiled (and filtered) on its own. A reference that reads a
 * scoped table makes the case a must-refuse one.
 */
export function mention(x: Gen, r: RawText, table: string, alias: string | undefined): boolean {
  const form = x.pick(forms(x, alias !== undefined, r.noObjects));
  const as = alias === undefined ? '' : ` as ${alias}`;
  const upper = table.toUpperCase();
  const capital = `${table[0]!.toUpperCase()}${table.slice(1)}`;
  let reads = true;
  switch (form) {
    case 'plain':
      r.text(`${table}${as}`);
      break;
    case 'case':
      r.text(`${x.chance(50) ? upper : capital}${as}`);
      break;
    case 'dquote':
      r.text(`"${table}"${as}`);
      break;
    case 'backtick':
      r.text(`\`${table}\`${as}`);
      break;
    case 'bracket':
      r.text(`[${table}]${as}`);
      break;
    case 'dquoteUpper':
      r.text(`"${upper}"${as}`);
      break;
    case 'schema': {
      const schema = x.dialect === 'pg' ? 'public' : 'main';
      r.text(
        `${x.pick([`${schema}.${table}`, `"${schema}"."${table}"`, `${schema}."${table}"`, `${schema} . ${table}`])}${as}`,
      );
      break;
    }
    case 'string':
      r.text(`'${table}'${as}`);
      break;
    case 'parens':
      r.text(`(${table})`);
      break;
    case 'comment': {
      // PostgreSQL nests block comments; SQLite and MySQL end one at the first */
      const nested = x.dialect === 'pg' ? '/* a /* b */ */ ' : '/* a /* b */ ';
      r.text(
        `${x.pick(['/* t */ ', '/**/', '-- t\n ', '\n\t', nested])}${table}${x.chance(30) ? ' /* x */' : ''}${as}`,
      );
      break;
    }
    case 'unicode':
      // refusing U&"…" whatever it names is fail-closed
      x.expect.add('raw-odd');
      // PostgreSQL decodes \XXXX escapes in U&"…" identifiers: U&"\0070rojects" is projects
      r.text(`U&"\\${table.charCodeAt(0).toString(16).padStart(4, '0')}${table.slice(1)}"${as}`);
      break;
    case 'only':
      r.text(`only ${table}${as}`);
      break;
    case 'ref':
      r.value({ k: 'ref', name: table }).text(as);
      break;
    case 'refAs':
      r.value(alias === undefined ? { k: 'ref', name: table } : { k: 'ref', name: table, as: alias });
      break;
    case 'rawName':
      r.value({ k: 'raw', frag: plain(table) }).text(as);
      break;
    case 'nestedRaw': {
      // a raw bound in a raw, the name bound in that one
      const inner = new RawText(x.chance(30));
      if (x.chance(50)) inner.name(table);
      else inner.value({ k: 'ref', name: table });
      r.value({ k: 'raw', frag: inner.frag() }).text(as);
      break;
    }
    case 'name':
      r.name(table).text(as);
      break;
    case 'nameRef':
      r.name({ k: 'ref', name: table }).text(as);
      break;
    case 'nameRaw':
      r.name({ k: 'raw', frag: plain(table) }).text(as);
      break;
    case 'names':
      r.name({ k: 'names', names: [table] }).text(as);
      break;
    case 'nameAs':
      if (alias === undefined) r.name(table);
      else r.name({ k: 'nameAs', alias, name: table });
      break;
    case 'builder':
      // a derived table needs an alias on PostgreSQL and MySQL
      r.value({ k: 'sub', sub: selectAll(table) }).text(alias === undefined ? ' as bx' : as);
      reads = false;
      break;
  }
  if (form === 'builder') x.tag('c5', 'bound builder');
  else if (['ref', 'refAs', 'rawName', 'nestedRaw', 'name', 'nameRef', 'nameRaw', 'names', 'nameAs'].includes(form)) {
    x.tag('c5', `${r.namedMode ? 'named ' : ''}${form}`);
  } else if (SHAPES[form]) x.tag('c6', SHAPES[form]!);
  if (reads && SCOPED_TABLES.includes(table)) x.expect.add('raw-scoped');
  return reads;
}

/** Tables without an `id` column, kept out of `select id from …`; without a string column, out of `min(str)`. */
const NO_ID = [...TABLE.values()].filter((t) => !t.columns.some((c) => c.name === 'id')).map((t) => t.name);
const NO_STR = [...TABLE.values()].filter((t) => !t.columns.some((c) => c.ty === 'str')).map((t) => t.name);

/** A table for a fragment: a scoped one (`percent` %, a must-refuse flavour) or an unscoped one. */
export function fragTable(x: Gen, percent: number, avoid: readonly string[] = []): string {
  const scoped = SCOPED_TABLES.filter((t) => !avoid.includes(t));
  if (scoped.length > 0 && x.scopedRaw(percent)) return x.pick(scoped);
  const unscoped = UNSCOPED_TABLES.filter((t) => !avoid.includes(t));
  return x.pick(unscoped.length > 0 ? unscoped : UNSCOPED_TABLES);
}

/** `(select count(*) from t)` or `(select min(col) from t)`: a scalar subquery reading a table. */
export function scalarSub(x: Gen, r: RawText, ty: Ty, percent: number, avoid: readonly string[] = []): void {
  const table = fragTable(x, percent, ty === 'str' ? [...avoid, ...NO_STR] : avoid);
  const str = TABLE.get(table)!.columns.find((c) => c.ty === 'str')?.name ?? 'name';
  r.text(ty === 'int' ? `(select count(*) ${kw(x, 'from')} ` : `(select min(${str}) ${kw(x, 'from')} `);
  mention(x, r, table, x.chance(50) ? undefined : 'rq');
  r.text(')');
}

/** An expression of type `ty`: a column, a bound value, a `??` name, or a scalar subquery. */
export function expr(
  x: Gen,
  r: RawText,
  ty: Ty,
  visible: readonly ColRef[],
  percent: number,
  avoid: readonly string[] = [],
  selected = false,
): void {
  const cols = columnsOfType(visible, ty);
  const roll = x.int(0, 9);
  if (roll < 3 && cols.length > 0) {
    r.text(textRef(x, x.pick(cols)));
    return;
  }
  if (roll < 5 && cols.length > 0) {
    r.name(ref(x.pick(cols)));
    return;
  }
  if (roll < 7) {
    // selected, a bound value has no type on PostgreSQL (text): an integer is written inline
    if (selected && ty === 'int') r.text(String(x.int(0, 5)));
    else bindValue(x, r, ty === 'int' ? x.int(0, 5) : x.pick(['alpha', 'open', 'design', 'u1']), ty, 'raw binding');
    return;
  }
  scalarSub(x, r, ty, percent, avoid);
}

/** A fragment of one expression (`where(col, op, raw)`, `onVal`, update values…). */
export function exprFrag(
  x: Gen,
  ty: Ty,
  visible: readonly ColRef[],
  percent: number,
  slot: string,
  avoid: readonly string[] = [],
): RawFrag {
  x.tag('c4', slot);
  const r = rawText(x);
  expr(x, r, ty, visible, percent, avoid);
  return r.frag();
}

/** `select(raw('… as oN'))`, `columns(…)`, or `select({ oN: raw('…') })`. */
export function selectRaw(
  x: Gen,
  visible: readonly ColRef[],
  as: string,
): { raw: RawFrag; ty: Ty; form: 'select' | 'columns' | 'object' } {
  const form = x.pick(['select', 'select', 'columns', 'object'] as const);
  x.tag('c4', form === 'object' ? 'select({ alias: raw })' : form === 'columns' ? 'columns raw' : 'select raw');
  const ty: Ty = x.chance(60) ? 'int' : 'str';
  const r = rawText(x);
  expr(x, r, ty, visible, 25, [], true);
  if (form !== 'object') r.text(` as ${as}`);
  return { raw: r.frag(), ty, form };
}

/** The window of `rank(as, raw)`: `[partition by c] order by …`. `rowNumber` is deterministic only over every output. */
export function windowRaw(
  x: Gen,
  visible: readonly ColRef[],
  outputsOrder: readonly ColRef[],
  rowNumber: boolean,
): RawFrag {
  x.tag('c4', 'window raw');
  const r = rawText(x);
  if (!rowNumber && x.chance(30)) r.text(`partition by ${textRef(x, x.pick(visible))} `);
  r.text('order by ');
  if (rowNumber) {
    outputsOrder.forEach((c, i) => {
      if (i > 0) r.text(', ');
      r.text(textRef(x, c));
    });
    if (x.scopedRaw(30)) {
      r.text(', ');
      scalarSub(x, r, 'int', 100);
    }
  } else if (x.chance(70)) r.text(textRef(x, x.pick(visible)));
  else scalarSub(x, r, 'int', 40);
  return r.frag();
}

/** The JSON document of `jsonExtract(raw, '$.a')`: `{ "a": <expr> }`. */
export function jsonRaw(x: Gen, visible: readonly ColRef[]): { raw: RawFrag; ty: Ty } {
  x.tag('c4', 'jsonExtract raw');
  const r = rawText(x);
  const ty: Ty = x.chance(70) ? 'int' : 'str';
  if (x.chance(20)) {
    r.text(x.dialect === 'pg' ? `'{"a": 1}'::jsonb` : `'{"a": 1}'`);
    return { raw: r.frag(), ty: 'int' };
  }
  r.text(x.dialect === 'pg' ? "jsonb_build_object('a', " : "json_object('a', ");
  const cols = columnsOfType(visible, ty);
  if (cols.length > 0 && x.chance(60)) r.text(textRef(x, x.pick(cols)));
  else scalarSub(x, r, ty, 35);
  r.text(')');
  return { raw: r.frag(), ty };
}

/** `whereRaw(…)`: a predicate reading a column, or a table through a subquery. */
export function whereRawFrag(x: Gen, col: ColRef, avoid: readonly string[] = []): RawFrag {
  x.tag('c4', 'whereRaw');
  const r = rawText(x);
  r.noObjects = x.dialect === 'mysql';
  const roll = x.int(0, 9);
  if (roll < 3) {
    r.name(ref(col)).text(' is not null');
  } else if (roll < 6) {
    r.text('exists (select 1 from ');
    mention(x, r, fragTable(x, 30, avoid), x.chance(50) ? undefined : 'rq');
    r.text(')');
  } else if (roll < 8 || col.ty !== 'int') {
    bindValue(x, r, x.int(0, 3), 'int', 'whereRaw binding').text(' < ');
    scalarSub(x, r, 'int', 30, avoid);
  } else {
    // the old shape: a column in the ids of a table
    r.name(ref(col)).text(' in (select id from ');
    mention(x, r, fragTable(x, 50, [...NO_ID, ...avoid]), undefined);
    r.text(')');
  }
  return r.frag();
}

/** `whereIn(col, [raw, value])` or `whereIn(col, raw('select … from t'))`. */
export function inRawValues(
  x: Gen,
  col: ColRef,
  avoid: readonly string[] = [],
): readonly (string | number | null | RawFrag)[] | RawFrag {
  x.tag('c4', 'whereIn raw');
  if (x.chance(50)) {
    const r = rawText(x);
    bindValue(x, r, x.value(col), col.ty, 'whereIn raw binding');
    return [r.frag(), x.value(col)];
  }
  const r = rawText(x);
  const strTables = (['tags', 'statuses'] as const).filter((t) => !avoid.includes(t));
  const table = col.ty === 'int' || strTables.length === 0 ? fragTable(x, 35, [...NO_ID, ...avoid]) : x.pick(strTables);
  const column = col.ty === 'int' ? 'id' : table === 'tags' ? 'name' : 'code';
  r.text(`select ${column} from `);
  mention(x, r, table, undefined);
  return r.frag();
}

/** `havingRaw(…)` on an aggregate query. */
export function havingRawFrag(x: Gen): RawFrag {
  x.tag('c4', 'havingRaw');
  const r = rawText(x);
  if (x.chance(50)) return bindValue(x, r.text('count(*) >= '), x.int(0, 2), 'int', 'havingRaw binding').frag();
  r.text('count(*) <= ');
  scalarSub(x, r, 'int', 40);
  r.text(' + 100');
  return r.frag();
}

/** `groupBy(raw)`: the grouped columns, maybe by `??`, maybe with a constant subquery. */
export function groupRawFrag(x: Gen, groupBy: readonly ColRef[]): { raw: RawFrag; method: 'groupBy' | 'groupByRaw' } {
  const method = x.chance(50) ? 'groupBy' : 'groupByRaw';
  x.tag('c4', method === 'groupBy' ? 'groupBy raw' : 'groupByRaw');
  const r = rawText(x);
  groupBy.forEach((c, i) => {
    if (i > 0) r.text(', ');
    if (x.chance(50)) r.name(ref(c));
    else r.text(textRef(x, c));
  });
  if (x.scopedRaw(35)) {
    r.text(', ');
    scalarSub(x, r, 'int', 100);
  }
  return { raw: r.frag(), method };
}

/** `orderBy(raw)`: an ordinal (no effect after a total order), or a subquery naming a table. */
export function orderRawFrag(
  x: Gen,
  allowSub: boolean,
): { raw: RawFrag; method: 'orderBy' | 'orderByRaw' | 'orderByObject' } {
  const method = x.pick(['orderBy', 'orderByRaw', 'orderByObject'] as const);
  x.tag(
    'c4',
    method === 'orderByObject' ? 'orderBy([{ column: raw }])' : method === 'orderBy' ? 'orderBy raw' : 'orderByRaw',
  );
  const r = rawText(x);
  if (allowSub && x.scopedRaw(40)) scalarSub(x, r, 'int', 100);
  else r.text('1');
  if (method === 'orderByRaw' && x.chance(50)) r.text(' desc');
  return { raw: r.frag(), method };
}

/** `offset(raw)`: a bound or literal number, or (SQLite, PostgreSQL) a subquery worth it. */
export function offsetRawFrag(x: Gen, n: number): RawFrag {
  x.tag('c4', 'offset raw');
  const r = rawText(x);
  if (x.dialect !== 'mysql' && x.chance(40)) {
    r.text('0 * ');
    scalarSub(x, r, 'int', 50);
    r.text(` + ${n}`);
    return r.frag();
  }
  if (x.chance(50) || x.dialect === 'mysql') return r.text(String(n)).frag();
  return r.value(n).frag();
}

/** `returning(raw)`: the table's columns, maybe with a subquery. */
export function returningRaw(x: Gen, table: string, qualified: boolean): RawFrag {
  x.tag('c4', 'returning raw');
  const r = rawText(x);
  const columns = TABLE.get(table)!.columns.map((c) => (qualified ? `${table}.${c.name}` : c.name));
  columns.forEach((c, i) => {
    if (i > 0) r.text(', ');
    if (x.chance(30)) r.name(c);
    else r.text(c);
  });
  if (x.chance(35)) {
    r.text(', ');
    scalarSub(x, r, 'int', 50, [table]);
    r.text(' as rc');
  }
  return r.frag();
}

/** A column value written by an insert, update or merge, as a raw expression. */
export function writtenRaw(x: Gen, table: string, column: string, ty: Ty, update: boolean): RawFrag {
  x.tag('c4', update ? 'update value raw' : 'insert value raw');
  const r = rawText(x);
  const roll = x.int(0, 9);
  if (update && ty === 'int' && roll < 3) {
    // the raw form of an increment, by a number or by a count
    r.name(`${table}.${column}`).text(' + ');
    if (x.chance(60)) bindValue(x, r, x.pick([1, 2]), 'int', 'raw increment binding');
    else scalarSub(x, r, 'int', 50, [table]);
    x.tag('c4', 'raw increment');
    return r.frag();
  }
  const name = update ? 'raw update value binding' : 'raw insert value binding';
  if (roll < 6) return bindValue(x, r, ty === 'int' ? x.int(0, 9) : x.pick(['new', 'x', 'todo']), ty, name).frag();
  // MySQL refuses a subquery on the table being written
  scalarSub(x, r, ty, 45, [table]);
  return r.frag();
}

/** A fragment standing for a scope column or a path key: a constant that cannot be checked. */
export function keyRaw(x: Gen, value: string | number): RawFrag {
  x.tag('c3', 'raw key value');
  x.expect.add('raw-key');
  const r = rawText(x);
  if (x.chance(50)) return r.value(value).frag();
  return r.text(typeof value === 'number' ? String(value) : `'${value}'`).frag();
}

interface RawSourceResult {
  readonly raw: RawFrag;
  readonly cols: ColRef[];
}

const tableCols = (table: string, q: string): ColRef[] =>
  TABLE.get(table)!.columns.map((c) => ({ q, col: c.name, ty: c.ty, from: `${table}.${c.name}` }));

/**
 * A FROM or JOIN source in raw SQL, as `alias`: a table reference (any form), maybe after a
 * comma join (`(select 1 as k) s, t` or `u1 k1 join u2 k2 on 1 = 1, t`), or a bound builder.
 */
export function rawTableSource(
  x: Gen,
  alias: string,
  r: RawText,
  sub: (() => Select) | undefined,
  comma: boolean,
): RawSourceResult {
  if (sub && x.chance(25)) {
    const select = sub();
    if (x.chance(50)) r.value({ k: 'sub', sub: select }).text(` as ${alias}`);
    else r.text('(').value({ k: 'sub', sub: select }).text(`) as ${alias}`);
    x.tag('c5', 'bound builder');
    return {
      raw: r.frag(),
      cols: outputs(select).map((c) => ({ ...c, q: alias })),
    };
  }
  // (not in a join: the joins after it would bind to the comma's right side only)
  const prefix = comma ? x.int(0, 9) : 0;
  if (prefix === 8) {
    r.text(`(select 1 as k) ${x.alias()}, `);
    x.tag('c6', 'comma after a subquery');
  } else if (prefix === 9) {
    const u1 = x.pick(UNSCOPED_TABLES);
    const u2 = x.pick(UNSCOPED_TABLES);
    const [k1, k2] = [x.alias(), x.alias()];
    const cross = x.chance(50);
    r.text(`${u1} ${k1} ${cross ? 'cross join' : 'join'} ${u2} ${k2}${cross ? '' : ' on 1 = 1'}, `);
    x.tag('c6', 'comma after a join');
  }
  const table = fragTable(x, 30);
  mention(x, r, table, alias);
  return { raw: r.frag(), cols: tableCols(table, alias) };
}

/** `fromRaw(…)` as `alias` (or a raw join table, `join(raw, …)`: no comma join then), maybe a CTE in raw text around a bound builder (c7). */
export function fromRawSource(
  x: Gen,
  alias: string,
  sub: () => Select,
  comma: boolean,
): { source: Source; cols: ColRef[] } {
  x.tag('c4', comma ? 'fromRaw' : 'join(raw)');
  const r = rawText(x);
  if (x.chance(15)) {
    const select = sub();
    const name = cteName(x);
    r.text(`(${rawCteHead(name)} select * from `)
      .value({ k: 'sub', sub: select })
      .text(` as y) as ${alias}`);
    return { source: { k: 'raw', raw: r.frag(), alias }, cols: outputs(select).map((c) => ({ ...c, q: alias })) };
  }
  const { raw, cols } = rawTableSource(x, alias, r, sub, comma);
  return { source: { k: 'raw', raw, alias }, cols };
}

/** `joinRaw(…)`: a cross join, or a join on a visible column, of a raw table reference. */
export function joinRawFrag(x: Gen, alias: string, visible: readonly ColRef[], sub: () => Select): RawSourceResult {
  x.tag('c4', 'joinRaw');
  const r = rawText(x);
  const cross = x.chance(50);
  r.text(cross ? 'cross join ' : x.pick(['join ', 'left join ', 'inner join ']));
  const { cols } = rawTableSource(x, alias, r, sub, false);
  if (!cross) {
    const pairs = cols.flatMap((c) => visible.filter((v) => v.ty === c.ty).map((v) => [c, v] as const));
    if (pairs.length > 0) {
      const [c, v] = x.pick(pairs);
      r.text(` on ${textRef(x, c)} = ${textRef(x, v)}`);
    } else r.text(' on 1 = 1');
  }
  return { raw: r.frag(), cols };
}

/** A raw CTE body for `with(name, raw)`: `select * from <table reference>`. */
export function cteRaw(x: Gen): { raw: RawFrag; cols: ColRef[] } {
  x.tag('c4', 'with raw');
  const r = rawText(x);
  const table = fragTable(x, 30);
  r.text('select * from ');
  mention(x, r, table, x.chance(50) ? undefined : 'rq');
  return { raw: r.frag(), cols: tableCols(table, '') };
}

/** `whereExists(raw('select 1 from t'))`. */
export function existsRawFrag(x: Gen, avoid: readonly string[] = []): RawFrag {
  x.tag('c4', 'whereExists(raw)');
  const r = rawText(x);
  r.text(`select 1 ${kw(x, 'from')} `);
  mention(x, r, fragTable(x, 35, avoid), x.chance(50) ? undefined : 'rq');
  return r.frag();
}

/** A bound of `whereBetween(col, [lo, hi])` as a raw: a number, or a count. */
export function boundRaw(x: Gen, n: number, avoid: readonly string[] = []): RawFrag {
  x.tag('c4', 'whereBetween raw');
  const r = rawText(x);
  if (x.chance(60)) return bindValue(x, r, n, 'int', 'whereBetween raw binding').frag();
  scalarSub(x, r, 'int', 35, avoid);
  r.text(` + ${n}`);
  return r.frag();
}

/** `having(raw('count(*)'), op, raw(…))`. */
export function havingCmpFrags(x: Gen): { left: RawFrag; right: RawFrag } {
  x.tag('c4', 'having(raw, op, raw)');
  const left = rawText(x)
    .text(x.pick(['count(*)', 'count(1)']))
    .frag();
  const r = rawText(x);
  if (x.chance(50)) bindValue(x, r, x.int(0, 3), 'int', 'having(raw) binding');
  else scalarSub(x, r, 'int', 40);
  return { left, right: r.frag() };
}

/** `union(raw('select … from t'))`: the member's columns of the compound's types. */
export function unionRaw(x: Gen, shape: readonly Ty[]): RawFrag | undefined {
  const tables = UNSCOPED_TABLES.concat(x.unscopedOnly ? [] : SCOPED_TABLES).filter((t) =>
    shape.every((ty) => TABLE.get(t)!.columns.some((c) => c.ty === ty)),
  );
  if (tables.length === 0) return undefined;
  const scoped = tables.filter((t) => SCOPED_TABLES.includes(t));
  const unscoped = tables.filter((t) => !SCOPED_TABLES.includes(t));
  const table =
    scoped.length > 0 && x.scopedRaw(35) ? x.pick(scoped) : unscoped.length > 0 ? x.pick(unscoped) : undefined;
  if (table === undefined) return undefined;
  x.tag('c4', 'union(raw)');
  const cols = shape.map((ty, i) => `${x.pick(TABLE.get(table)!.columns.filter((c) => c.ty === ty)).name} as o${i}`);
  const r = rawText(x);
  r.text(`select ${cols.join(', ')} ${kw(x, 'from')} `);
  mention(x, r, table, undefined);
  return r.frag();
}

// ---------------------------------------------------------------------------------------------
// CTEs in raw text (c7): a name that shadows a scoped table the filters read, around a builder.

/** CTE bodies with every key pair, so a filter reading the CTE lets every tenant's rows through. */
const SHADOWS: Record<string, string> = {
  projects: 'projects(id, tenant_id) as (select 10 * t1.id + t2.id, t3.id from tags t1, tags t2, tags t3)',
  tasks:
    'tasks(id, project_id) as (select 100 * t1.id + t2.id, 10 * t3.id + t4.id from tags t1, tags t2, tags t3, tags t4)',
  tenants: 'tenants(id) as (select id from tags)',
};

function cteName(x: Gen): string {
  if (!x.scopedRaw(50)) return `w${x.int(0, 3)}`;
  const name = x.pick(Object.keys(SHADOWS));
  x.expect.add('raw-cte-shadow');
  x.tag('c7', 'raw CTE shadowing a scoped table');
  return x.chance(30) ? name.toUpperCase() : name;
}

function rawCteHead(name: string): string {
  const shadow = SHADOWS[name.toLowerCase()];
  const body = shadow ? shadow.slice(shadow.indexOf('(')) : '(k) as (select id from tags)';
  return `with ${name}${body}`;
}

/** `with projects(id, tenant_id) as (…) select * from (?) as x`, a builder bound. */
export function rawCteRead(x: Gen, sub: () => Select): Read {
  x.tag('c7', 'CTE in raw text');
  const r = rawText(x);
  const name = cteName(x);
  // Knex puts a bound builder in parentheses; `(?)` doubles them, which every dialect takes
  const parens = x.chance(50);
  r.text(`${rawCteHead(name)} select * from ${parens ? '(' : ''}`)
    .value({ k: 'sub', sub: sub() })
    .text(`${parens ? ')' : ''} as x`);
  return { k: 'rawRead', raw: r.frag() };
}

// ---------------------------------------------------------------------------------------------
// Whole raw statements (c5, c6): table references in every form and shape.

export function rawStatement(x: Gen, sub: () => Select): Read {
  const r = rawText(x);
  const roll = x.int(0, 9);
  if (roll < 5) {
    // a table reference of any form, maybe after a comma join
    r.text(x.chance(50) ? `select count(*) as c ${kw(x, 'from')} ` : `select * ${kw(x, 'from')} `);
    rawTableSource(x, 'x', r, sub, true);
    return { k: 'rawRead', raw: r.frag() };
  }
  if (roll < 6) {
    r.text('select count(*) as c from ');
    mention(x, r, fragTable(x, 40), undefined);
    return { k: 'rawRead', raw: r.frag() };
  }
  if (roll < 7) {
    // MySQL (and MariaDB's /*M! */) runs what an executable comment holds; elsewhere a comment
    const table = x.scopedRaw(50) ? x.pick(SCOPED_TABLES) : x.pick(UNSCOPED_TABLES);
    const open = x.pick(['/*!', '/*!50000', '/*M!', '/*M!100000']);
    x.tag('c6', 'MySQL executable comment');
    x.expect.add('raw-odd');
    if (x.dialect === 'mysql' && SCOPED_TABLES.includes(table)) x.expect.add('raw-scoped');
    return { k: 'rawRead', raw: plain(`select count(*) as c from statuses s ${open}, ${table} */`) };
  }
  if (roll < 8) return masked(x);
  if (roll < 9) {
    r.text('select count(*) as c from statuses s where exists (select 1 from ');
    mention(x, r, fragTable(x, 40), x.chance(50) ? undefined : 'rq');
    r.text(')');
    return { k: 'rawRead', raw: r.frag() };
  }
  return rawCteRead(x, sub);
}

/**
 * A subquery after text that a reader of the wrong dialect takes for the start of a string or a
 * comment (c6): a quote escaped with a backslash (MySQL '\'', PostgreSQL E'\''), a quote inside
 * a quoted identifier ("x'", `x'`, [x']), a dollar-quoted string, MySQL's "\"", PostgreSQL's
 * `#` (XOR, a comment on MySQL). What each dialect reads decides whether it must be refused.
 */
function masked(x: Gen): Read {
  type Mask = { readonly sql: (t: string) => string; readonly reads: readonly string[]; readonly what: string };
  const sub = (t: string) => `(select count(*) from ${t}) as c`;
  const masks: Mask[] = [
    { what: 'backslash-escaped quote', sql: (t) => `select '\\'' as q, ${sub(t)} -- '`, reads: ['mysql'] },
    {
      what: 'quote in a quoted name',
      sql: (t) => `select 1 as "x'", ${sub(t)} -- '`,
      reads: ['sqlite', 'pg', 'mysql'],
    },
  ];
  if (x.dialect === 'pg') {
    masks.push(
      { what: "E'' string", sql: (t) => `select E'\\'' as q, ${sub(t)} -- '`, reads: ['pg'] },
      { what: 'dollar-quoted string', sql: (t) => `select $a$ ' $a$ as q, ${sub(t)} -- '`, reads: ['pg'] },
    );
  }
  if (x.dialect !== 'pg')
    masks.push({
      what: 'quote in a backquoted name',
      sql: (t) => `select 1 as \`x'\`, ${sub(t)} -- '`,
      reads: ['sqlite', 'mysql'],
    });
  if (x.dialect === 'sqlite')
    masks.push({ what: 'quote in a [name]', sql: (t) => `select 1 as [x'], ${sub(t)} -- '`, reads: ['sqlite'] });
  if (x.dialect === 'mysql')
    masks.push({ what: 'MySQL "\\"" string', sql: (t) => `select "\\"" as q, ${sub(t)} -- "`, reads: ['mysql'] });
  if (x.dialect !== 'sqlite')
    masks.push({ what: 'PostgreSQL # (a MySQL comment)', sql: (t) => `select 0 # ${sub(t)}`, reads: ['pg'] });
  const mask = x.pick(masks);
  const table = x.scopedRaw(50) ? x.pick(SCOPED_TABLES) : x.pick(UNSCOPED_TABLES);
  x.tag('c6', mask.what);
  x.expect.add('raw-odd');
  if (mask.reads.includes(x.dialect) && SCOPED_TABLES.includes(table)) x.expect.add('raw-scoped');
  return { k: 'rawRead', raw: plain(mask.sql(table)) };
}

/** A keyword in another letter case now and then: `FROM`, `From`. */
export function kw(x: Gen, word: string): string {
  const roll = x.int(0, 9);
  if (roll < 8) return word;
  return roll === 8 ? word.toUpperCase() : `${word[0]!.toUpperCase()}${word.slice(1)}`;
}

// ---------------------------------------------------------------------------------------------
// Unbalanced raws (c8): a fragment that closes the parentheses a filter is wrapped in, or
// comments out what follows it. The oracle runs its balanced superset (`1 = 1`): a scoped run
// that is not refused must return a subset of the oracle's rows.

const UNBALANCED = [
  '1 = 0) or (1 = 1',
  '1 = 1) or (1 = 1',
  '1 = 0) or 1 = 1 -- ',
  '1 = 0) or 1 = 1 /*',
  '1 = 1)) or ((1 = 1',
  '1 = 1 -- ',
  '1 = 1 /*',
  '1 = 0 or (1 = 1',
];

export function unbalancedPredicate(x: Gen, prefix = '1 = 1', oracle = '1 = 1'): RawFrag {
  const frag = x.pick(UNBALANCED).replace(/^1 = [01]/, prefix);
  return { k: 'frag', sql: frag, bindings: [], oracleSql: oracle };
}

/** A value fragment that closes the parentheses around its predicate: `0) or (1 = 1`. */
export function unbalancedValue(x: Gen): RawFrag {
  const sql = x.pick(['0) or (1 = 1', '0) or 1 = 1 -- ', '0) or 1 = 1 /*', '0)) or ((1 = 1', 'select 0) or (1 = 1']);
  return { k: 'frag', sql, bindings: [] };
}

/** `cross join t as a1 --`: a trailing comment after a raw join. */
export function unbalancedJoin(x: Gen, alias: string): { raw: RawFrag; table: string } {
  const table = x.pick(UNSCOPED_TABLES);
  const join = `cross join ${table} as ${alias}`;
  const tail = x.pick([' -- ', ' /*', ' on 1 = 1) or (1 = 1']);
  return { raw: { k: 'frag', sql: `${join}${tail}`, bindings: [], oracleSql: join }, table };
}
