// The write rules decided while a write compiles: inserts stamped or refused, the values of an
// UPDATE or an upsert's merge checked, FK-path keys collected for the runner's parent check.
import { ScopeError } from '../errors';
import { type ScopeKey, type ScopeValue, scopeValueIncludes } from '../scope-values';
import type { PathRule } from '../table-paths';
import type { CompileRun } from './compile-run';
import { isBuilder, isRaw, type SingleLike } from './knex-internals';
import type { Filter } from './predicates';
import { isTrustedRaw } from './raw/trust';
import { crossScope, unsupported } from './scope-refusals';
import type { TableMatcher } from './table-names';
import type { TableRef } from './table-refs';

/** INSERT into a scoped table: stamp a missing direct column, refuse a foreign or ambiguous one. */
export function guardInsert(
  run: CompileRun,
  single: SingleLike,
  ref: TableRef,
  filters: Filter[] | undefined,
  dialect: string,
): SingleLike {
  const table = ref.policy.table;
  if (!filters) return single; // disabled, or a report-mode violation
  if (single.merge && dialect === 'mysql') {
    run.refuse(
      unsupported(
        table,
        'onConflict().merge() (MySQL ON DUPLICATE KEY UPDATE cannot be guarded by a tenant predicate)',
      ),
    );
    return single;
  }
  const data = single.insert;
  if (isBuilder(data) || typeof data === 'function') {
    run.refuse(unsupported(table, 'INSERT … SELECT'));
    return single;
  }
  if (data === undefined) return single;
  const rows: unknown[] = Array.isArray(data) ? data : [data];
  for (const row of rows) {
    if (isPlainRecord(row)) {
      refuseDuplicateColumns(run, table, row, ref);
      continue;
    }
    // a raw body (`insert(db.raw('(cols) values (…)'))`) or a raw row cannot be stamped or checked
    if (isRaw(row) && isTrustedRaw(row)) {
      run.bypass('trusted-raw', table);
      continue;
    }
    run.refuse(
      new ScopeError(
        isRaw(row) ? 'RAW_SQL_REFUSED' : 'UNSUPPORTED_QUERY',
        `Insert into "${table}" refused: ${isRaw(row) ? 'a raw INSERT body' : `a row that is a ${typeof row}, not an object,`} ` +
          'cannot be stamped with the tenant or checked. Insert objects of column → value, or mark a raw you vouch for with trustRaw().',
        isRaw(row) ? { table, sql: row.sql } : { table },
      ),
    );
    return single;
  }
  for (const f of filters) {
    if (f.rule.kind !== 'path') continue;
    const rule = f.rule;
    const values = rows.map((row: unknown) => {
      if (typeof row !== 'object' || row === null) return undefined;
      const key = findKey(run, row as Record<string, unknown>, rule.column);
      return key === undefined ? undefined : (row as Record<string, unknown>)[key];
    });
    requireParents(run, table, rule, ref.schema, values);
  }
  const direct = filters.filter((f) => f.rule.kind === 'direct');
  // ALL on a dimension leaves no filter for it: with no key to stamp, the value must be given
  const lifted = ref.policy.rules.filter(
    (rule) => rule.kind === 'direct' && !filters.some((f) => f.rule.dimension === rule.dimension),
  );
  if (direct.length === 0 && lifted.length === 0) return single;
  const out = rows.map((row: unknown) => {
    if (typeof row !== 'object' || row === null || isRaw(row)) return row;
    const copy: Record<string, unknown> = { ...(row as Record<string, unknown>) };
    for (const f of direct) {
      if (f.rule.kind === 'direct' && f.rule.ownKey && findKey(run, copy, f.rule.column) === undefined) {
        refuseNewOwner(run, table, f.rule.column, f.rule.dimension);
        continue;
      }
      stampColumn(run, table, copy, f.rule.column, f.rule.dimension, f.value);
    }
    for (const rule of lifted) {
      // under ALL a new owner row may take the key the database generates: every owner is in scope
      if (rule.kind === 'direct' && rule.ownKey) continue;
      if (findKey(run, copy, rule.column) === undefined) {
        run.refuse(
          new ScopeError(
            'AMBIGUOUS_INSERT',
            `Insert into "${table}" refused: the scope on "${rule.dimension}" is ALL, so there is no single value for ` +
              `"${rule.column}". Set "${rule.column}" on every row.`,
            { table, column: rule.column, dimensions: [rule.dimension] },
          ),
        );
      }
    }
    return copy;
  });
  return { ...single, insert: Array.isArray(data) ? out : out[0] };
}

/**
 * A row of the owners' own table (`tenants: { tenant: 'id' }`) without its key, inside a scope of
 * given owners: the database would make a new owner, which no scope of existing ones holds. Never
 * stamped (the key would collide with the current owner's); creating an owner is explicit.
 */
function refuseNewOwner(run: CompileRun, table: string, column: string, dimension: string): void {
  run.refuse(
    new ScopeError(
      'AMBIGUOUS_INSERT',
      `Insert into "${table}" refused: "${column}" is the table's own key, so a row without it would create a new ` +
        `"${dimension}" outside the active scope. Create it with scope({ ${dimension}: ALL }, fn) or inside ` +
        `scopesDisabled(fn), or give "${column}" a value inside the scope.`,
      { table, column, dimensions: [dimension] },
    ),
  );
}

function findKey(run: CompileRun, row: Record<string, unknown>, column: string): string | undefined {
  for (const key of Object.keys(row)) if (run.policy.matcher.sameColumn(key, column)) return key;
  return undefined;
}

function stampColumn(
  run: CompileRun,
  table: string,
  row: Record<string, unknown>,
  column: string,
  dimension: string,
  value: Exclude<ScopeValue, symbol>,
): void {
  const key = findKey(run, row, column);
  const given = key === undefined ? undefined : row[key];
  if (given === undefined) {
    if (Array.isArray(value)) {
      run.refuse(
        new ScopeError(
          'AMBIGUOUS_INSERT',
          `Insert into "${table}" refused: the scope holds several values for "${dimension}", so there is no single ` +
            `value for "${column}". Set "${column}" on every row, or insert inside a scope with one value.`,
          { table, column, dimensions: [dimension] },
        ),
      );
      return;
    }
    if (key !== undefined) delete row[key];
    row[column] = value;
    return;
  }
  checkWritten(run, table, column, dimension, value, given);
}

function checkWritten(
  run: CompileRun,
  table: string,
  column: string,
  dimension: string,
  value: Exclude<ScopeValue, symbol>,
  given: unknown,
): void {
  if (isRaw(given) && isTrustedRaw(given)) {
    run.bypass('trusted-raw', table); // vouched for: written as it is, unchecked
    return;
  }
  if (isRaw(given) || isBuilder(given) || typeof given === 'function') {
    run.refuse(
      crossScope(
        table,
        column,
        dimension,
        `"${column}" is set to an expression that cannot be checked against the scope (trustRaw() vouches for one).`,
      ),
    );
    return;
  }
  const ok =
    (typeof given === 'string' || typeof given === 'number' || typeof given === 'bigint') &&
    scopeValueIncludes(value, given);
  if (!ok) {
    run.refuse(
      crossScope(
        table,
        column,
        dimension,
        `"${column}" = ${String(given)} is outside the active scope on "${dimension}".`,
        given,
      ),
    );
  }
}

/**
 * The keys an FK path column is set to must name parents visible in the scope: collected here,
 * checked by the runner (parent-checks.ts). `null` is left to the column's own nullability.
 */
function requireParents(
  run: CompileRun,
  table: string,
  rule: PathRule,
  schema: string | undefined,
  values: unknown[],
): void {
  const keys: ScopeKey[] = [];
  for (const value of values) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
      keys.push(value);
      continue;
    }
    if (isRaw(value) && isTrustedRaw(value)) {
      run.bypass('trusted-raw', table); // vouched for: not checked against the parent
      continue;
    }
    const what =
      isRaw(value) || isBuilder(value) ? 'an expression that cannot be checked' : `a ${typeof value}, not a key`;
    run.refuse(crossScope(table, rule.column, rule.dimension, `"${rule.column}" is set to ${what}.`));
    return;
  }
  if (keys.length > 0) run.requireParents(table, rule, schema, keys);
}

/**
 * UPDATE values (and an upsert's merge values): a tenant column may only be set to a value inside
 * the scope, an FK path key only to a parent visible in it; neither may be incremented.
 */
export function guardAssignments(
  run: CompileRun,
  update: unknown,
  counter: unknown,
  ref: TableRef,
  filters: Filter[] | undefined,
): void {
  if (!filters) return;
  const table = ref.policy.table;
  if (update !== undefined && !isPlainRecord(update)) {
    // Knex reads any other object's own fields as columns (a raw's among them)
    run.refuse(unsupported(table, 'An update with values that are not an object of column → value'));
    return;
  }
  if (isPlainRecord(update)) refuseDuplicateColumns(run, table, update, ref);
  if (isPlainRecord(counter)) refuseDuplicateColumns(run, table, counter, ref);
  for (const f of filters) {
    const column = f.rule.column;
    const key = isPlainRecord(update) ? findKey(run, update, column) : undefined;
    if (key !== undefined && f.rule.kind === 'path') requireParents(run, table, f.rule, ref.schema, [update?.[key]]);
    else if (key !== undefined) checkWritten(run, table, column, f.rule.dimension, f.value, update?.[key]);
    if (isPlainRecord(counter) && findKey(run, counter, column) !== undefined) {
      run.refuse(crossScope(table, column, f.rule.dimension, `"${column}" cannot be incremented or decremented.`));
    }
  }
}

export function isJoinRef(ref: TableRef): boolean {
  return ref.site.kind === 'join';
}

/**
 * The keys of written values that belong to one reference: those qualified with its alias or
 * name, and for the base table the unqualified ones too. Anything but a plain object is left
 * whole to the base table, which refuses it.
 */
export function rowKeysOf(values: unknown, ref: TableRef, isBase: boolean, matcher: TableMatcher): unknown {
  if (!isPlainRecord(values)) return isBase ? values : undefined;
  let own: Record<string, unknown> | undefined;
  for (const key of Object.keys(values)) {
    // `pages.tenant_id`, `db.pages.tenant_id`: the table is the segment before the column
    const segments = key.split('.');
    const qualifier = segments.length < 2 ? undefined : (segments[segments.length - 2] as string);
    const mine =
      qualifier === undefined
        ? isBase
        : [ref.qualifier, ref.alias, ref.name].some(
            (q) => q !== undefined && matcher.normalize(q) === matcher.normalize(qualifier),
          );
    if (!mine) continue;
    own ??= {};
    own[key] = values[key];
  }
  return own;
}

/** `merge()` / `merge(['title', 'views'])`: the inserted values of those columns. */
export function isColumnList(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
}

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isRaw(value) || isBuilder(value))
    return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Two keys of one written object that the database takes for the same column (`tenant_id` and
 * `TENANT_ID`; `tenantId` and `tenant_id` under a snake-case mapper): the check would see one, the
 * database apply the other. Refused, whichever column it is.
 */
function refuseDuplicateColumns(run: CompileRun, table: string, row: Record<string, unknown>, ref: TableRef): void {
  const keys = Object.keys(row);
  if (keys.length < 2) return;
  const matcher = run.policy.matcher;
  const seen = new Map<string, string>();
  for (const key of keys) {
    const dot = key.lastIndexOf('.');
    const name = matcher.normalize(dot === -1 ? key : key.slice(dot + 1));
    const other = seen.get(name);
    if (other === undefined) {
      seen.set(name, key);
      continue;
    }
    const rule = ref.policy.rules.find((r) => matcher.normalize(r.column) === name);
    const message = `"${other}" and "${key}" name the same column; write it once.`;
    run.refuse(
      rule
        ? crossScope(table, rule.column, rule.dimension, message)
        : new ScopeError('UNSUPPORTED_QUERY', `Write to "${table}" refused: ${message}`, { table, column: key }),
    );
    return;
  }
}

/**
 * An upsert's `merge({ tenant_id: 7 })` in the scope of tenant 7, on PostgreSQL, as
 * `"tenant_id" = excluded."tenant_id"`: the same value (every inserted row holds the scope's
 * one key there, stamped or checked), in the only form Citus accepts for a distribution column
 * in DO UPDATE. Anything else (a list scope, a trusted raw in a row or in the merge) is left as
 * written. Returns the merge values to compile, or `undefined` to keep them.
 */
export function mergeTenantFromExcluded(
  run: CompileRun,
  updates: Record<string, unknown>,
  rows: unknown,
  filters: readonly Filter[],
  excluded: (column: string) => unknown,
): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const f of filters) {
    if (f.rule.kind !== 'direct' || Array.isArray(f.value)) continue;
    const key = findKey(run, updates, f.rule.column);
    if (key === undefined || key.includes('.') || !isScalarKey(updates[key], f.value)) continue;
    const inserted = Array.isArray(rows) ? rows : [rows];
    const column = f.rule.column;
    const same = inserted.every((row) => {
      if (!isPlainRecord(row)) return false;
      const k = findKey(run, row, column);
      return k !== undefined && isScalarKey(row[k], f.value);
    });
    if (!same) continue;
    out ??= { ...updates };
    out[key] = excluded(key);
  }
  return out;
}

function isScalarKey(given: unknown, value: Exclude<ScopeValue, symbol>): boolean {
  return (
    (typeof given === 'string' || typeof given === 'number' || typeof given === 'bigint') &&
    scopeValueIncludes(value, given)
  );
}
