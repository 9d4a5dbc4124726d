// The real PostgreSQL parser (libpg-query, WASM; a dev dependency, never one of core) and the few
// readers of its JSON tree the router check needs. A node is `{ <Type>: { …fields } }`; fields of
// a fixed type (a statement's `relation`, an `alias`, a `withClause`) come unwrapped.
import { loadModule, parseSync } from 'libpg-query';

export type Fields = { readonly [key: string]: unknown };

let loading: Promise<void> | undefined;

/** Loads the parser once; `parseStatements` needs it loaded. */
export function loadParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/** The statements of `sql`, each as its `{ <Type>Stmt: … }` node. Throws on a syntax error. */
export function parseStatements(sql: string): unknown[] {
  const tree = parseSync(sql) as { stmts?: Array<{ stmt?: unknown }> };
  return (tree.stmts ?? []).map((raw) => raw.stmt);
}

export function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The fields of `node` when it is a `type` node. */
export function nodeOf(node: unknown, type: string): Fields | undefined {
  if (!isFields(node)) return undefined;
  const inner = node[type];
  return isFields(inner) ? inner : undefined;
}

/** The type of a node: its one key. */
export function typeOf(node: unknown): string | undefined {
  return isFields(node) ? Object.keys(node)[0] : undefined;
}

export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function stringOf(node: unknown): string | undefined {
  const s = nodeOf(node, 'String')?.sval;
  return typeof s === 'string' ? s : undefined;
}

/** `a.b.c` of a column reference, or undefined for anything else (and for `t.*`). */
export function columnRef(node: unknown): string[] | undefined {
  const ref = nodeOf(node, 'ColumnRef');
  if (!ref) return undefined;
  const parts = listOf(ref.fields).map(stringOf);
  return parts.every((p): p is string => p !== undefined) && parts.length > 0 ? parts : undefined;
}

/**
 * The qualifier of a whole-row absence test, `(t.*) is not distinct from null` (what the library
 * sends) or `(t.*) is null`; undefined for anything else.
 */
export function absentRowTest(node: unknown): string | undefined {
  const test = nodeOf(node, 'NullTest');
  const distinct = nodeOf(node, 'A_Expr');
  let arg: unknown;
  if (test?.nulltesttype === 'IS_NULL') arg = test.arg;
  else if (distinct?.kind === 'AEXPR_NOT_DISTINCT' && nodeOf(distinct.rexpr, 'A_Const')?.isnull === true) {
    arg = distinct.lexpr;
  } else return undefined;
  const fields = listOf(nodeOf(arg, 'ColumnRef')?.fields);
  return fields.length === 2 && nodeOf(fields[1], 'A_Star') ? stringOf(fields[0]) : undefined;
}

/** The expression under any `::type` casts. */
export function withoutCasts(node: unknown): unknown {
  let current = node;
  for (let cast = nodeOf(current, 'TypeCast'); cast; cast = nodeOf(current, 'TypeCast')) current = cast.arg;
  return current;
}

/** A literal (`7`, `'a'`; NULL is none) or a `$n` parameter, after casts. */
export type ValueNode = { readonly literal: string } | { readonly param: number };

export function valueNode(node: unknown): ValueNode | undefined {
  const bare = withoutCasts(node);
  const param = nodeOf(bare, 'ParamRef');
  if (param) return typeof param.number === 'number' ? { param: param.number } : undefined;
  const constant = nodeOf(bare, 'A_Const');
  if (!constant || constant.isnull === true) return undefined;
  // Protobuf leaves zero values out: `{ ival: {} }` is 0.
  if (isFields(constant.ival)) return { literal: String(constant.ival.ival ?? 0) };
  if (isFields(constant.sval)) return { literal: String(constant.sval.sval ?? '') };
  if (isFields(constant.fval)) return { literal: String(constant.fval.fval ?? '0') };
  if (isFields(constant.boolval)) return { literal: String(constant.boolval.boolval ?? false) };
  return undefined;
}

/** The top-level AND conjuncts of a condition (what sits under OR or NOT stays one conjunct). */
export function conjuncts(expr: unknown): unknown[] {
  if (expr === undefined || expr === null) return [];
  const bool = nodeOf(expr, 'BoolExpr');
  if (bool?.boolop === 'AND_EXPR') return listOf(bool.args).flatMap(conjuncts);
  return [expr];
}

/** The operator name of an `A_Expr` (`=`, `<>`, …). */
export function operatorOf(expr: Fields): string | undefined {
  const names = listOf(expr.name);
  return names.length === 1 ? stringOf(names[0]) : undefined;
}

/**
 * Calls `fn` with the query of every sublink (`EXISTS (…)`, `IN (…)`, a scalar subquery) in an
 * expression, not looking inside those queries: the caller analyses each as a level of its own.
 */
export function forEachSubquery(expr: unknown, fn: (query: unknown) => void): void {
  if (Array.isArray(expr)) {
    for (const item of expr) forEachSubquery(item, fn);
    return;
  }
  if (!isFields(expr)) return;
  const sublink = nodeOf(expr, 'SubLink');
  if (sublink) {
    forEachSubquery(sublink.testexpr, fn);
    fn(sublink.subselect);
    return;
  }
  for (const value of Object.values(expr)) forEachSubquery(value, fn);
}

/** Every `RangeVar` (table name) anywhere under `node`, for statement kinds the check does not read. */
export function relationNames(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) relationNames(item, out);
  } else if (isFields(node)) {
    if (typeof node.relname === 'string') out.push(node.relname);
    for (const value of Object.values(node)) relationNames(value, out);
  }
  return out;
}
