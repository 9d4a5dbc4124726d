// Reads that join tables along their FK paths (c9): the shapes where a join implies a path
// filter (`tasks t join projects p on p.id = t.project_id`, which lets the library leave t's
// filter out) next to their near misses, which must keep it: a left or right join, an OR or a
// value in the ON clause, another operator, another column, a self-join on the FK, a parent
// that is not the path's. The generic generator reaches these one join in thousands.
import type { CmpOp, ColRef, Join, JoinKind, OnItem, Read, WhereItem } from './ast';
import type { Gen } from './gen-context';
import { tableCols } from './gen-read';
import { RELATIONS } from './world';

/** child.column references parent.id (world.ts RELATIONS): the declared paths and plain FKs. */
const EDGES = RELATIONS.filter(([child, , , key]) => key === 'id' && child !== 'audit');

const START = ['comments', 'tasks', 'project_tags', 'notes', 'projects'];

interface Placed {
  readonly table: string;
  readonly q: string;
  readonly cols: ColRef[];
}

function col(p: Placed, name: string): ColRef {
  const found = p.cols.find((c) => c.col === name);
  if (!found) throw new Error(`fuzz: ${p.table} has no column ${name}`);
  return found;
}

/** Tables with an `id` a wrong parent can be (world.ts). */
const KEYED = ['tenants', 'projects', 'tasks', 'comments', 'notes', 'tags'];

type Flavour = 'clean' | 'left' | 'right' | 'or' | 'value' | 'operator' | 'column' | 'parent' | 'self';
const FLAVOURS: readonly Flavour[] = ['left', 'right', 'or', 'value', 'operator', 'column', 'parent', 'self'];

/**
 * A chain of inner joins along FK edges, each ON clause the FK equality (`child.fk = parent.key`,
 * either way round), and at most one near miss in one join, so that a rule the library gets
 * wrong shows in the rows: a third of the reads are clean chains, where filters are implied.
 */
export function genPathJoins(x: Gen): Read {
  const used = new Set<string>();
  const place = (table: string): Placed => {
    // a bare name now and then (the qualifier is the table), else an alias
    const q = !used.has(table) && x.chance(20) ? table : x.alias();
    used.add(q);
    if (q !== table) used.add(table);
    return { table, q, cols: tableCols(table, q) };
  };
  const flavour: Flavour = x.chance(35) ? 'clean' : x.pick(FLAVOURS);
  const first = place(x.pick(START));
  const placed: Placed[] = [first];
  const joins: Join[] = [];
  const count = x.int(1, 3);
  const odd = x.int(0, count - 1); // the join the near miss goes to
  for (let i = 0; i < count; i++) {
    const near = i === odd ? flavour : 'clean';
    if (near === 'self') {
      const from = x.pick(placed);
      const edge = EDGES.find(([child]) => child === from.table);
      if (edge) {
        x.tag('c9', 'self-join on the FK');
        const other = place(from.table);
        const on: OnItem[] = [{ k: 'cols', or: false, left: col(other, edge[1]), op: '=', right: col(from, edge[1]) }];
        joins.push({ kind: 'inner', source: source(other), on });
        placed.push(other);
        continue;
      }
    }
    // up to a parent of a placed table (mostly the latest: comments → tasks → projects), or down
    const options: Array<{ child: Placed | string; childCol: string; parent: Placed | string; key: string }> = [];
    for (const p of x.chance(70) ? [placed[placed.length - 1] as Placed] : placed) {
      for (const [c, cc, pt, pk] of EDGES) {
        if (p.table === c) options.push({ child: p, childCol: cc, parent: pt, key: pk });
        if (p.table === pt && x.chance(40)) options.push({ child: c, childCol: cc, parent: p, key: pk });
      }
    }
    if (options.length === 0) break;
    const pick = x.pick(options);
    if (near === 'parent' && typeof pick.parent === 'string') {
      pick.parent = x.pick(KEYED.filter((t) => t !== pick.parent));
      x.tag('c9', 'a table that is not the parent');
    }
    const fresh = place(typeof pick.child === 'string' ? pick.child : (pick.parent as string));
    const child = typeof pick.child === 'string' ? fresh : pick.child;
    const parent = typeof pick.parent === 'string' ? fresh : pick.parent;
    let kind: JoinKind = 'inner';
    if (near === 'left' || near === 'right') {
      kind = near;
      x.tag('c9', `${near} join`);
    }
    joins.push({ kind, source: source(fresh), on: onClause(x, near, child, pick.childCol, parent, pick.key) });
    placed.push(fresh);
  }
  x.tag('c9', flavour === 'clean' ? 'a clean chain' : joins.length > 1 ? 'a chain of joins' : 'one join');
  const shown = x.pick(placed);
  const where: WhereItem[] = [];
  if (x.chance(25)) {
    const c = x.pick(placed.flatMap((p) => p.cols));
    where.push({ or: false, pred: { k: 'cmp', col: c, op: x.pick<CmpOp>(['=', '<>', '<', '>']), value: x.value(c) } });
  }
  return {
    k: 'select',
    ctes: [],
    distinct: false,
    from: source(first),
    joins,
    where,
    items: [{ k: 'star', q: shown.q, cols: shown.cols }],
    groupBy: [],
    having: [],
    order: { k: 'none' },
  };
}

function source(p: Placed): { k: 'table'; table: string; alias?: string } {
  return { k: 'table', table: p.table, ...(p.q === p.table ? {} : { alias: p.q }) };
}

/** The ON clause: the FK equality, with the near miss if this join has one. */
function onClause(x: Gen, near: Flavour, child: Placed, childCol: string, parent: Placed, parentKey: string): OnItem[] {
  let left = col(child, childCol);
  let right = col(parent, parentKey);
  let op: CmpOp = '=';
  if (near === 'operator') {
    op = x.pick<CmpOp>(['<>', '<', '>=']);
    x.tag('c9', 'another operator');
  } else if (near === 'column') {
    const others = child.cols.filter((c) => c.ty === 'int' && c.col !== childCol);
    if (others.length > 0) {
      left = x.pick(others);
      x.tag('c9', 'another column');
    }
  }
  if (x.chance(50)) [left, right] = [right, left];
  const items: OnItem[] = [{ k: 'cols', or: false, left, op, right }];
  if (near === 'or' || near === 'value') {
    x.tag('c9', near === 'or' ? 'OR in the ON clause' : 'a value in the ON clause');
    const c = x.pick(x.chance(50) ? parent.cols : child.cols);
    items.push({ k: 'val', or: near === 'or', col: c, value: x.value(c) });
  }
  return items;
}
