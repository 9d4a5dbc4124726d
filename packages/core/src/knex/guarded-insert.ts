// An INSERT that checks its own FK-path parents (in-statement-checks.ts decides which): the dialect
// compiler of a scoped client writes the rows as `INSERT … SELECT <rows> WHERE <conditions>`
// instead of `VALUES <rows>`, so a parent out of scope makes the statement write nothing. Columns,
// values, ON CONFLICT, RETURNING and the bindings stay Knex's own: only the body between the
// column list and the rest changes, and only for a builder whose rewrite marked it.
//   one row:  (cols) select ?, ? [from dual] where <conditions>
//   n rows:   (cols) select * from (values (?, ?), (?, ?)) as ks_rows where <conditions>
// A PostgreSQL VALUES list in FROM resolves parameters of unknown type as text (`column "page_id"
// is of type integer but expression is of type text`), so there the first row's values are typed
// by the target's row type: coalesce(?, (null::"comments")."page_id"). (A UNION ALL of SELECTs
// instead costs a plan per branch: 7× a plain 100-row insert on PostgreSQL, 5× on SQLite; the
// VALUES list 1.15× and less than the plain insert.) MySQL/MariaDB batches are never marked.
import type { BuilderLike, ClientLike, SingleLike } from './knex-internals';
import type { ParentCondition } from './parent-conditions';
import { parseTableName } from './table-refs';

export const INSERT_GUARD: unique symbol = Symbol('knex-scopes.insertGuard');

export interface InsertGuard {
  /** The parents' conditions (parent-conditions.ts), ANDed into the SELECT's WHERE. */
  readonly conditions: readonly ParentCondition[];
}

interface InsertCompiler {
  readonly client: ClientLike & {
    valueForUndefined: unknown;
    parameter(value: unknown, builder: unknown, holder: unknown): string;
    parameterize(values: unknown[], notSet: unknown, builder: unknown, holder: unknown): string;
  };
  readonly builder: BuilderLike;
  readonly bindingsHolder: { bindings: unknown[] };
  readonly single: SingleLike & { [INSERT_GUARD]?: InsertGuard; returning?: unknown };
  readonly formatter: { columnize(columns: string[]): string; wrap(value: string): string };
  _prepInsert(data: unknown): { columns: string[]; values: unknown[][] } | string;
  _ignore(columns: unknown): string;
  _merge(updates: unknown, columns: unknown, insert: unknown): string;
  _returning(returning: unknown): string;
  where(): string;
}

type InsertMethods = {
  insert(this: InsertCompiler): unknown;
  _insertBody(this: InsertCompiler, values: unknown): string;
};
type CompilerClass = new (...args: never[]) => unknown;

const classes = new WeakMap<CompilerClass, CompilerClass>();
/** Guards whose conditions went into a compiled body. */
const applied = new WeakSet<InsertGuard>();

/** Knex's own QueryCompiler#insert (WITH, `insert into <table> `, then _insertBody), under the dialect's. */
function knexInsertOf(proto: object): InsertMethods['insert'] | undefined {
  let found: InsertMethods['insert'] | undefined;
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, '_insertBody') && Object.hasOwn(p, 'insert')) found = (p as InsertMethods).insert;
  }
  return found;
}

/** The dialect's compiler class, with guarded inserts (one subclass per dialect class). */
export function guardedInsertCompilerClass<C extends CompilerClass>(Dialect: C): C {
  const known = classes.get(Dialect);
  if (known) return known as C;
  const proto = Dialect.prototype as InsertMethods;
  const dialectInsert = proto.insert;
  const dialectInsertBody = proto._insertBody;
  const knexInsert = knexInsertOf(proto);
  const Guarded = class GuardedInsertCompiler extends (Dialect as new (...args: never[]) => object) {};
  Object.defineProperties(Guarded.prototype, {
    _insertBody: {
      configurable: true,
      writable: true,
      value(this: InsertCompiler, values: unknown): string {
        const guard = this.single[INSERT_GUARD];
        return guard === undefined ? dialectInsertBody.call(this, values) : guardedBody(this, values, guard);
      },
    },
    insert: {
      configurable: true,
      writable: true,
      value(this: InsertCompiler): unknown {
        const guard = this.single[INSERT_GUARD];
        if (guard === undefined) return dialectInsert.call(this);
        // SQLite's own insert() writes a row's VALUES itself, never through _insertBody
        const sql =
          this.client.dialect === 'sqlite3' && knexInsert ? sqliteInsert(this, knexInsert) : dialectInsert.call(this);
        // fail closed: a release whose insert() went around _insertBody would send no check
        if (!applied.has(guard)) {
          throw new Error(
            'knex-scopes: this Knex release compiled an INSERT without the parent check it was to carry; refused.',
          );
        }
        return sql;
      },
    },
  });
  classes.set(Dialect, Guarded as unknown as CompilerClass);
  return Guarded as unknown as C;
}

/** What SQLite's insert() adds after a one-row VALUES, after our body instead. */
function sqliteInsert(c: InsertCompiler, knexInsert: InsertMethods['insert']): { sql: string; returning: unknown } {
  let sql = knexInsert.call(c) as string;
  const { onConflict, ignore, merge, returning, insert } = c.single;
  if (onConflict && ignore) sql += c._ignore(onConflict);
  else if (onConflict && merge) {
    sql += c._merge((merge as { updates?: unknown }).updates, onConflict, insert);
    const wheres = c.where();
    if (wheres) sql += ` ${wheres}`;
  }
  if (returning) sql += c._returning(returning);
  return { sql, returning };
}

function guardedBody(c: InsertCompiler, values: unknown, guard: InsertGuard): string {
  const data = c._prepInsert(values);
  // in-statement-checks.ts marks only rows of plain values with a column each
  if (typeof data === 'string' || data.columns.length === 0 || data.values.length === 0) {
    throw new Error('knex-scopes: a guarded INSERT without rows of columns (internal error)');
  }
  const { client, builder, bindingsHolder } = c;
  const dialect = client.dialect;
  const columns = c.formatter.columnize(data.columns); // bindings in text order: the column list first
  const params = (row: unknown[]) =>
    dialect === 'sqlite3' && data.values.length > 1
      ? // as Knex's own SQLite batch (a compound SELECT) binds them: no JSON of objects
        row.map((value) => client.parameter(value, builder, bindingsHolder))
      : row.map((value) => client.parameterize([value], client.valueForUndefined, builder, bindingsHolder));
  let source: string;
  if (data.values.length === 1) {
    source = `select ${params(data.values[0] as unknown[]).join(', ')}${dialect === 'mysql' ? ' from dual' : ''}`;
  } else if (dialect === 'mysql') {
    // never marked (in-statement-checks.ts keeps the pre-check for MySQL batches): fail closed
    throw new Error('knex-scopes: a guarded MySQL INSERT of several rows (internal error)');
  } else {
    const rows = data.values.map((row) => params(row));
    if (dialect === 'postgresql') {
      // the first row's values take the target columns' types (coalesce(x, typed null) is x), and the
      // other rows' parameters of unknown type take them from it, as INSERT … VALUES would give them
      const { name, schema } = parseTableName(c.single.table as string, c.single.schema);
      const type = c.formatter.wrap(schema ? `${schema}.${name}` : name);
      rows[0] = (rows[0] as string[]).map(
        (v, j) => `coalesce(${v}, (null::${type}).${c.formatter.wrap(data.columns[j] as string)})`,
      );
    }
    source = `select * from (values ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) as ks_rows`;
  }
  // compiled SQL with its values: they follow the rows' values, as the text does
  for (const condition of guard.conditions) bindingsHolder.bindings.push(...condition.bindings);
  applied.add(guard);
  return `(${columns}) ${source} where ${guard.conditions.map((condition) => condition.sql).join(' and ')}`;
}
