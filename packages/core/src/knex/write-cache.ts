// The statement of a one-row FK-path write, compiled once per shape (write-shape.ts) and per
// wrapped instance, then reused with the write's own values, as path-cache.ts reuses FK-path
// subqueries: such a write then costs about what plain Knex's compile costs, instead of a
// rewrite, a parent condition and the guarded INSERT … SELECT compiled every time.
//
// A template is the usual compile (rewrite.ts, write-guards.ts, in-statement-checks.ts,
// guarded-insert.ts) of a copy of the write whose every value and scope key is a sentinel
// number, kept only when what came out is a pure template: every binding is a sentinel, every
// value is bound exactly as often as expected (once, and once more for each parent check it
// keys), no sentinel is spelt in the SQL, one placeholder per binding, and every parent check
// travels in the statement with one sentinel key. The shape holds everything else the compile
// reads, each field compared before a template is used, and the values are of the kinds whose
// SQL does not depend on them (one `?` each), so the usual compile of the real write gives the
// same SQL with the real values. A shape that makes no template (it was refused, or keeps a
// pre-check) is remembered as such and compiles as usual every time, refusals included.
import type { ScopeKey } from '../scope-values';
import { countingDriver } from './affected-rows';
import { CACHED_STATEMENT, type CachedStatement, RECORD_STATEMENT, type RecordedStatement } from './cached-statement';
import { CompileRun, type ScopedPolicy, withRun } from './compile-run';
import type { BuilderLike, ClientLike, CompilerLike, SingleLike, Statement } from './knex-internals';
import type { ParentCheck } from './parent-checks';
import { isPathKey, readWriteShape, type Shape, type ShapeWhere, type WriteShape } from './write-shape';

interface CheckTemplate {
  readonly table: string;
  readonly column: string;
  readonly dimensions: readonly string[];
  readonly parentTable: string;
  readonly parentKey: string;
  readonly schema: string | undefined;
  /** The index of its key among the write's values. */
  readonly key: number;
}

interface Template {
  readonly sql: string;
  readonly withReturning: boolean;
  /** Per binding: an index into the write's values, past them into the scope's keys. */
  readonly slots: readonly number[];
  readonly checks: readonly CheckTemplate[];
  /** The dialect and identifier mapping it was compiled under. */
  readonly dialect: string;
  readonly wrapIdentifier: unknown;
}

/** A shape seen before (its own copy: the app's arrays may change) and its template, or null: none. */
interface Entry {
  readonly shape: Shape;
  readonly template: Template | null;
}

type CompilerClass = new (client: ClientLike, builder: BuilderLike, bindings?: unknown[]) => CompilerLike;

/** Shapes per table name as written, and table names per wrapped instance, before starting over. */
const SHAPES_PER_TABLE = 32;
const TABLES = 500;
/** Sentinels: BASE + i for the i-th value, then for each scope key. */
const BASE = 7_461_301;
const entries = new WeakMap<ScopedPolicy, Map<string, Entry[]>>();
/** A template compile is under way: its own statement compiles as usual. */
let compilingTemplate = false;

/**
 * A compiler that answers `builder`, the top-level write of `run`, from its shape's template,
 * with the parent checks it carries recorded on the run as the usual compile records them;
 * undefined when the write is not of a cached shape (it then compiles as usual).
 */
export function cachedWriteCompiler(
  client: ClientLike,
  Compiler: CompilerClass,
  builder: BuilderLike,
  bindings: unknown[] | undefined,
  run: CompileRun,
): CompilerLike | undefined {
  if (compilingTemplate || bindings !== undefined) return undefined;
  // report mode keeps the pre-check (in-statement-checks.ts); so do other drivers
  if (run.policy.mode !== 'enforce' || countingDriver(client) === undefined) return undefined;
  const shape = readWriteShape(builder, run);
  if (shape === undefined) return undefined;
  const template = templateOf(client, run.policy, builder, shape);
  if (
    template === null ||
    template.dialect !== client.dialect ||
    template.wrapIdentifier !== client.config.wrapIdentifier
  )
    return undefined;
  const { values, scope } = shape;
  const checks: ParentCheck[] = [];
  for (const c of template.checks) {
    const key = values[c.key];
    // null sets no parent (no check); a boolean is refused: both as the usual compile says
    if (!isPathKey(key)) return undefined;
    checks.push(new OneKeyCheck(c, key));
  }
  const slots = template.slots;
  const bound = new Array<unknown>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as number;
    bound[i] = slot < values.length ? values[slot] : scope[slot - values.length];
  }
  run.inStatementChecks = checks;
  const compiler = new Compiler(client, builder) as CompilerLike & { [CACHED_STATEMENT]?: CachedStatement };
  compiler[CACHED_STATEMENT] = { sql: template.sql, withReturning: template.withReturning, bindings: bound };
  return compiler;
}

/**
 * The check of one key a cached write carries, as placeParentChecks() records it; its map of
 * keys is made only when read (a write that wrote no row is checked again, by key).
 */
class OneKeyCheck implements ParentCheck {
  readonly table: string;
  readonly column: string;
  readonly dimensions: string[];
  readonly parentTable: string;
  readonly parentKey: string;
  readonly schema: string | undefined;
  private readonly key: ScopeKey;
  private map: Map<string, ScopeKey> | undefined;

  constructor(c: CheckTemplate, key: ScopeKey) {
    this.table = c.table;
    this.column = c.column;
    this.dimensions = c.dimensions.slice();
    this.parentTable = c.parentTable;
    this.parentKey = c.parentKey;
    this.schema = c.schema;
    this.key = key;
  }

  get keys(): Map<string, ScopeKey> {
    this.map ??= new Map([[String(this.key), this.key]]);
    return this.map;
  }
}

/** The template of `shape` (compiled at its first sight), null when it has none. */
function templateOf(
  client: ClientLike,
  policy: ScopedPolicy,
  builder: BuilderLike,
  shape: WriteShape,
): Template | null {
  let tables = entries.get(policy);
  if (tables === undefined) {
    tables = new Map();
    entries.set(policy, tables);
  }
  let known = tables.get(shape.table);
  if (known !== undefined) {
    for (let i = 0; i < known.length; i++) {
      const entry = known[i] as Entry;
      if (sameShape(entry.shape, shape)) return entry.template;
    }
  }
  const template = compileTemplate(client, policy, builder, shape) ?? null;
  // table names and shapes named by request data must not grow memory
  if (known === undefined || known.length >= SHAPES_PER_TABLE) {
    if (tables.size >= TABLES) tables.clear();
    known = [];
    tables.set(shape.table, known);
  }
  known.push({ shape: copyShape(shape), template });
  return template;
}

function sameNames(a: Shape['onConflict'], b: Shape['onConflict']): boolean {
  if (a === b) return true;
  return Array.isArray(a) && Array.isArray(b) && sameList(a, b);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameWheres(a: readonly ShapeWhere[], b: readonly ShapeWhere[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as ShapeWhere;
    const y = b[i] as ShapeWhere;
    if (x.column !== y.column || x.operator !== y.operator || x.not !== y.not || x.bool !== y.bool) return false;
  }
  return true;
}

/** Every field of a shape (the table is the map's key, compared too). */
function sameShape(a: Shape, b: Shape): boolean {
  return (
    a.method === b.method &&
    a.table === b.table &&
    a.array === b.array &&
    sameNames(a.returning, b.returning) &&
    sameNames(a.onConflict, b.onConflict) &&
    sameList(a.columns, b.columns) &&
    sameWheres(a.wheres, b.wheres) &&
    sameList(a.dimensions, b.dimensions) &&
    sameList(a.lengths, b.lengths)
  );
}

function copyNames<T extends Shape['onConflict']>(names: T): T {
  return (Array.isArray(names) ? Object.freeze([...names]) : names) as T;
}

function copyShape(shape: Shape): Shape {
  return Object.freeze({
    method: shape.method,
    table: shape.table,
    array: shape.array,
    returning: copyNames(shape.returning),
    onConflict: copyNames(shape.onConflict),
    columns: Object.freeze([...shape.columns]),
    wheres: Object.freeze(shape.wheres.map((w) => Object.freeze({ ...w }))),
    dimensions: Object.freeze([...shape.dimensions]),
    lengths: Object.freeze([...shape.lengths]),
  });
}

/** The write of `shape` with sentinels for its values, as a builder of `client`. */
function sentinelBuilder(client: ClientLike, builder: BuilderLike, shape: WriteShape): BuilderLike {
  const { columns, method } = shape;
  // own properties in the written order (a `__proto__` column included), as the row has them
  const record = Object.fromEntries(columns.map((column, j) => [column, BASE + j]));
  const written = builder._single[method];
  const single: SingleLike = { ...builder._single, [method]: Array.isArray(written) ? [record] : record };
  const statements = builder._statements.map((s, i): Statement => ({ ...s, value: BASE + columns.length + i }));
  const q = client.queryBuilder();
  q._method = method;
  q._single = single;
  q._statements = statements;
  return q;
}

function compileTemplate(
  client: ClientLike,
  policy: ScopedPolicy,
  builder: BuilderLike,
  shape: WriteShape,
): Template | undefined {
  const { values, dimensions, lengths } = shape;
  const total = values.length + shape.scope.length;
  let next = BASE + values.length;
  const sentinels: Record<string, number | number[]> = {};
  dimensions.forEach((dimension, d) => {
    const length = lengths[d] as number;
    sentinels[dimension] = length < 0 ? next++ : Array.from({ length }, () => next++);
  });
  const state = Object.freeze({ enabled: true, values: Object.freeze(sentinels) });
  const q = sentinelBuilder(client, builder, shape);
  const run = new CompileRun(policy, undefined, undefined, state);
  run.topMethod = shape.method;
  run.statement = q;
  const recorded: RecordedStatement = {};
  let query: { sql?: unknown; bindings?: unknown };
  compilingTemplate = true;
  try {
    query = withRun(run, () => {
      const compiler = client.queryCompiler(q) as CompilerLike & { [RECORD_STATEMENT]?: RecordedStatement };
      compiler[RECORD_STATEMENT] = recorded;
      return compiler.toSQL();
    }) as typeof query;
  } catch {
    return undefined; // refused: the usual compile of each such write refuses it, and reports it
  } finally {
    compilingTemplate = false;
  }

  // what the dialect's method answered, which a cached statement answers again
  const answer = recorded.answer;
  let sql: unknown;
  let withReturning: boolean;
  if (typeof answer === 'string') {
    sql = answer;
    withReturning = false;
  } else if (typeof answer === 'object' && answer !== null) {
    const keys = Object.keys(answer);
    const { returning } = answer as { returning?: unknown };
    if (keys.length !== 2 || !keys.includes('sql') || !keys.includes('returning')) return undefined;
    if (returning !== q._single.returning) return undefined;
    sql = (answer as { sql?: unknown }).sql;
    withReturning = true;
  } else return undefined;
  if (typeof sql !== 'string' || query.sql !== sql || !Array.isArray(query.bindings)) return undefined;

  // every parent check travels in the statement, keyed by one of the values
  if (run.parentChecks !== undefined || run.trustedRaw) return undefined;
  const placed = run.inStatementChecks;
  if (placed === undefined || placed.length === 0) return undefined;
  const expected = new Array<number>(values.length).fill(1);
  const checks: CheckTemplate[] = [];
  for (const check of placed) {
    const [sentinel, ...more] = check.keys.values();
    const key = typeof sentinel === 'number' ? sentinel - BASE : -1;
    if (more.length > 0 || !(key >= 0 && key < values.length)) return undefined;
    expected[key] = (expected[key] as number) + 1; // the row binds it, and so does its condition
    const { table, column, dimensions: checked, parentTable, parentKey, schema } = check;
    checks.push({ table, column, dimensions: [...checked], parentTable, parentKey, schema, key });
  }

  const slots: number[] = [];
  const seen = new Array<number>(values.length).fill(0);
  for (const binding of query.bindings as unknown[]) {
    const slot = typeof binding === 'number' ? binding - BASE : -1;
    if (!(Number.isInteger(slot) && slot >= 0 && slot < total)) return undefined;
    if (slot < values.length) seen[slot] = (seen[slot] as number) + 1;
    slots.push(slot);
  }
  for (let j = 0; j < values.length; j++) if (seen[j] !== expected[j]) return undefined;
  if (sql.split('?').length - 1 !== slots.length) return undefined;
  for (let i = 0; i < total; i++) if (sql.includes(String(BASE + i))) return undefined;
  return { sql, withReturning, slots, checks, dialect: client.dialect, wrapIdentifier: client.config.wrapIdentifier };
}
