// The SQL that makes PostgreSQL enforce the scopes the bridge sets: a helper function that reads
// the setting, and per declared table ENABLE + FORCE ROW LEVEL SECURITY and one policy whose
// USING and WITH CHECK hold every dimension of the table (direct columns and FK paths).
import { ScopeError } from '../errors';
import type { DimensionRule, TablePolicy } from '../table-paths';
import { isSqlTypeName, type RlsConfig } from './rls-options';

/** The helper function the policies call: the setting's keys for one dimension. */
export const RLS_HELPER = 'knex_scopes_ids';
/** The name of the policy made on each table (one per table: permissive policies are ORed). */
export const RLS_POLICY = 'knex_scopes';
export const DEFAULT_KEY_TYPE = 'bigint';

export interface RlsPolicySqlOptions {
  /** Qualify the tables and the helper with this schema (default: unqualified, the search_path). */
  readonly schema?: string;
  /**
   * The SQL type of the keys, per dimension or per `'table.column'`; overrides the `rls.types`
   * of defineScopes(). Default `bigint` (also right for integer columns).
   */
  readonly types?: Readonly<Record<string, string>>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The helper maps the setting to the keys of one dimension: `NULL` means every tenant (scopes
 * disabled, or `ALL`), `{}` no tenant (no setting, `''`, no scope on that dimension).
 */
export function helperFunctionSql(schema?: string): string {
  const name = schema ? `${quote(schema)}.${RLS_HELPER}` : RLS_HELPER;
  // plpgsql: its plans are cached per session (a SQL function this shape is planned per statement).
  return `CREATE OR REPLACE FUNCTION ${name}(setting text, dimension text) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $knex_scopes$
DECLARE
  v jsonb := nullif(current_setting(setting, true), '')::jsonb;
  keys jsonb;
BEGIN
  IF v IS NULL THEN RETURN '{}'; END IF;
  IF v -> 'enabled' = 'false'::jsonb THEN RETURN NULL; END IF;
  keys := v -> 'values' -> dimension;
  IF jsonb_typeof(keys) = 'array' THEN RETURN ARRAY(SELECT jsonb_array_elements_text(keys)); END IF;
  IF keys = '"all"'::jsonb THEN RETURN NULL; END IF;
  RETURN '{}';
END
$knex_scopes$`;
}

interface Context {
  readonly policies: ReadonlyMap<string, TablePolicy>;
  readonly rls: RlsConfig;
  readonly schema: string | undefined;
  readonly types: Readonly<Record<string, string>>;
}

function tableName(ctx: Context, table: string): string {
  return ctx.schema ? `${quote(ctx.schema)}.${quote(table)}` : quote(table);
}

function helperCall(ctx: Context, dimension: string): string {
  const fn = ctx.schema ? `${quote(ctx.schema)}.${RLS_HELPER}` : RLS_HELPER;
  return `(SELECT ${fn}(${literal(ctx.rls.setting)}, ${literal(dimension)}))`;
}

function keyType(ctx: Context, table: string, column: string, dimension: string): string {
  return ctx.types[`${table}.${column}`] ?? ctx.types[dimension] ?? DEFAULT_KEY_TYPE;
}

/** `column` (of `table`, written `ref`) is one of the dimension's keys, following FK paths. */
function owned(ctx: Context, table: string, rule: DimensionRule, ref: string): string {
  if (rule.kind === 'direct') {
    const type = keyType(ctx, table, rule.column, rule.dimension);
    // The scalar subquery runs once per statement (an InitPlan), and keeps the index usable.
    return `${ref} = ANY (${helperCall(ctx, rule.dimension)}::${type}[])`;
  }
  const parent = ctx.policies.get(rule.parentTable);
  const parentRule = parent?.rules.find((r) => r.dimension === rule.dimension);
  if (!parent || !parentRule) {
    throw new ScopeError(
      'INVALID_DEFINITION',
      `rlsPolicySql(): "${table}" reaches "${rule.dimension}" through "${rule.parentTable}", which does not declare it.`,
      { table },
    );
  }
  const p = quote(rule.parentTable);
  const parentRef = `${p}.${quote(parentRule.column)}`;
  return (
    `${ref} IN (SELECT ${p}.${quote(rule.parentKey)} FROM ${tableName(ctx, rule.parentTable)} ` +
    `WHERE ${owned(ctx, rule.parentTable, parentRule, parentRef)})`
  );
}

/** The condition a row of `policy.table` must meet, for USING and WITH CHECK alike. */
export function policyCondition(ctx: Context, policy: TablePolicy): string {
  const parts = policy.rules.map(
    (rule) => `(${helperCall(ctx, rule.dimension)} IS NULL OR ${owned(ctx, policy.table, rule, quote(rule.column))})`,
  );
  return parts.join(' AND ');
}

/** Every statement, in order: the helper, then per table RLS on, forced, and its policy. */
export function rlsPolicySql(
  policies: ReadonlyMap<string, TablePolicy>,
  rls: RlsConfig,
  options: RlsPolicySqlOptions = {},
): string[] {
  const schema = options.schema;
  if (schema !== undefined && !IDENT.test(schema)) {
    throw new ScopeError(
      'INVALID_DEFINITION',
      `rlsPolicySql(): schema must be a plain identifier, got ${JSON.stringify(schema)}.`,
    );
  }
  for (const [key, type] of Object.entries(options.types ?? {})) {
    if (typeof type !== 'string' || !isSqlTypeName(type.trim())) {
      throw new ScopeError(
        'INVALID_DEFINITION',
        `rlsPolicySql(): types["${key}"] must be an SQL type name such as 'bigint' or 'uuid', got ${JSON.stringify(type)}.`,
      );
    }
  }
  const ctx: Context = { policies, rls, schema, types: { ...rls.types, ...options.types } };
  const statements = [helperFunctionSql(schema)];
  for (const policy of policies.values()) {
    const table = tableName(ctx, policy.table);
    const condition = policyCondition(ctx, policy);
    statements.push(
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`,
      `DROP POLICY IF EXISTS ${RLS_POLICY} ON ${table}`,
      `CREATE POLICY ${RLS_POLICY} ON ${table} AS PERMISSIVE FOR ALL USING (${condition}) WITH CHECK (${condition})`,
    );
  }
  return statements;
}

/** The statements that undo rlsPolicySql() (the helper last: the policies use it). */
export function rlsDropSql(
  policies: ReadonlyMap<string, TablePolicy>,
  options: Pick<RlsPolicySqlOptions, 'schema'> = {},
): string[] {
  const schema = options.schema;
  const statements: string[] = [];
  for (const policy of policies.values()) {
    const table = schema ? `${quote(schema)}.${quote(policy.table)}` : quote(policy.table);
    statements.push(
      `DROP POLICY IF EXISTS ${RLS_POLICY} ON ${table}`,
      `ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`,
      `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`,
    );
  }
  statements.push(`DROP FUNCTION IF EXISTS ${schema ? `${quote(schema)}.` : ''}${RLS_HELPER}(text, text)`);
  return statements;
}
