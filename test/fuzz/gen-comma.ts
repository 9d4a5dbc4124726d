// Reads where a subquery's comma join takes an enclosing query's alias again (c10): the shape of
// the leak of 9a3b4cb. A filter sent as a join after a comma join attaches to its last item,
// where the ON clause cannot see the earlier ones; a name it gives by qualifier (`a.task_id`)
// then binds to the nearest enclosing query that has an `a` in sight. So: an enclosing query
// over the deep table (`comments as a`, or the array form's "0"), a subquery whose comma join
// holds `comments` under that alias before its last item, naming its columns (a `*` keeps the
// IN form), in the select list, a WHERE IN or an EXISTS, correlated to another enclosing source
// or not. The generic generator draws this a few times in a thousand cases.
import type { ColRef, CommaItem, Join, Pred, Read, Select, SelectItem, Source, WhereItem } from './ast';
import { columnsOfType, type Gen } from './gen-context';
import { tableCols } from './gen-read';

// the other items: no second `comments`, whose own alias no enclosing query has (the generic
// generator draws those)
const OTHERS = ['tasks', 'projects', 'tags', 'notes', 'statuses', 'project_tags'];

const base = (from: Source, items: SelectItem[], where: WhereItem[] = [], joins: Join[] = []): Select => ({
  k: 'select',
  ctes: [],
  distinct: false,
  from,
  joins,
  where,
  items,
  groupBy: [],
  having: [],
  order: { k: 'none' },
});

/** A comma join of `n` items with `comments` under `deep` at `at`, the other items under fresh aliases. */
function commaWithDeep(
  x: Gen,
  form: 'object' | 'array',
  deep: string,
  n: number,
  at: number,
): { source: Source; deepCols: ColRef[]; others: ColRef[] } {
  const items: CommaItem[] = [];
  let deepCols: ColRef[] = [];
  const others: ColRef[] = [];
  for (let i = 0; i < n; i++) {
    const table = i === at ? 'comments' : x.pick(OTHERS);
    const alias = form === 'array' ? String(i) : i === at ? deep : x.alias();
    items.push({ k: 'table', table, alias });
    if (i === at) deepCols = tableCols(table, alias);
    else others.push(...tableCols(table, alias));
  }
  return { source: { k: 'comma', form, items }, deepCols, others };
}

export function genCommaShadow(x: Gen): Read {
  x.tag('c10', 'comma join in a subquery under an enclosing alias');
  // the enclosing query: `comments` as `a`, alone, or last in a comma join of its own (where a
  // join after it sees it: the enclosing query stays valid under that rule too), or joined
  const outerForm = x.pick(['table', 'object', 'array'] as const);
  let outer: { source: Source; deepCols: ColRef[]; others: ColRef[] };
  const outerN = outerForm === 'table' ? 1 : x.int(outerForm === 'array' ? 1 : 2, 2);
  const deep = outerForm === 'array' ? String(outerN - 1) : x.alias();
  if (outerForm === 'table') {
    outer = {
      source: { k: 'table', table: 'comments', alias: deep },
      deepCols: tableCols('comments', deep),
      others: [],
    };
  } else {
    outer = commaWithDeep(x, outerForm, deep, outerN, outerN - 1);
  }
  const joins: Join[] = [];
  if (outerForm === 'table' && x.chance(50)) {
    const t = x.alias();
    const tasks = tableCols('tasks', t);
    const on = [{ k: 'cols' as const, or: false, left: tasks[0]!, op: '=' as const, right: outer.deepCols[1]! }];
    joins.push({ kind: x.chance(70) ? 'inner' : 'left', source: { k: 'table', table: 'tasks', alias: t }, on });
    outer = { ...outer, others: tasks };
  }
  // the subquery: the same alias over `comments`, before the last item of a comma join (the
  // object form, or the array form, whose "0", "1" an enclosing array form has too)
  const innerForm = outerForm === 'array' ? 'array' : 'object';
  const at = innerForm === 'array' ? outerN - 1 : x.int(0, 1);
  const innerDeep = deep;
  const inner = commaWithDeep(x, innerForm, innerDeep, at + (x.chance(20) ? 3 : 2), at);
  const where: WhereItem[] = [];
  // correlated to an enclosing source the subquery does not hide, or not at all
  const visibleOuter = [...outer.deepCols, ...outer.others].filter(
    (c) => c.q !== innerDeep && !inner.others.some((o) => o.q === c.q),
  );
  if (visibleOuter.length > 0 && x.chance(60)) {
    const o = x.pick(visibleOuter);
    const same = columnsOfType([...inner.deepCols, ...inner.others], o.ty);
    if (same.length > 0) where.push({ or: false, pred: { k: 'cmpCol', col: x.pick(same), op: '=', other: o } });
  }
  if (x.chance(30)) {
    const c = x.pick(inner.deepCols);
    where.push({ or: false, pred: { k: 'cmp', col: c, op: x.pick(['=', '<>', '>'] as const), value: x.value(c) } });
  }
  const likes = inner.deepCols.find((c) => c.col === 'likes')!;
  const body = inner.deepCols.find((c) => c.col === 'body')!;
  const id = inner.deepCols.find((c) => c.col === 'id')!;
  const place = x.int(0, 2);
  const outerItems: SelectItem[] = [
    { k: 'col', col: outer.deepCols[0]!, as: 'o0' },
    { k: 'col', col: outer.deepCols[1]!, as: 'o1' },
  ];
  const outerWhere: WhereItem[] = [];
  if (place === 0) {
    // a select-list subquery: an aggregate over the hidden `comments`
    const agg: SelectItem = x.pick<SelectItem>([
      { k: 'agg', fn: 'count', as: 'o0' },
      { k: 'agg', fn: 'max', col: body, as: 'o0' },
      { k: 'agg', fn: 'sum', col: likes, as: 'o0' },
      { k: 'agg', fn: 'countDistinct', col: id, as: 'o0' },
    ]);
    outerItems.push({ k: 'sub', sub: base(inner.source, [agg], where), as: 'o2' });
  } else {
    // (not `id`: `a.id in (select a.id …)` holds for every row of either)
    const col = x.pick([body, likes]);
    const sub = base(inner.source, [{ k: 'col', col, as: 'o0' }], where);
    const target = outer.deepCols.find((c) => c.col === col.col)!;
    const pred: Pred =
      place === 1 ? { k: 'inSub', col: target, sub, not: x.chance(30) } : { k: 'exists', sub, not: x.chance(30) };
    outerWhere.push({ or: false, pred });
    if (place === 2) outerItems.push({ k: 'col', col: outer.deepCols[2]!, as: 'o2' });
  }
  return base(outer.source, outerItems, outerWhere, joins);
}
