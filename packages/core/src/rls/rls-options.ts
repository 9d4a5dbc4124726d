// The `rls` option of defineScopes(): which setting carries the scope, and how it is set.
import { ScopeError } from '../errors';

export interface RlsOptions {
  /**
   * The custom setting the policies read, with a dot (`knex_scopes.scope`): the wrapped instance
   * sets it transaction-locally for every statement it sends.
   */
  readonly setting: string;
  /**
   * Send only `SET LOCAL <setting> = '…'`, never `select set_config(<setting>, '…', true)` (used
   * when the scope changes inside a transaction): Citus forwards only SET LOCAL statements to its
   * workers (with `citus.propagate_set_commands = 'local'`).
   */
  readonly citus?: boolean;
  /**
   * The SQL type the generated policies cast the scope keys to, per dimension (`{ tenant: 'uuid' }`)
   * or per column (`{ 'pages.tenant_id': 'uuid' }`). Default `bigint`; the migration helper reads the
   * columns' real types.
   */
  readonly types?: Readonly<Record<string, string>>;
}

/** The validated option, as the bridge and the generator use it. */
export interface RlsConfig {
  readonly setting: string;
  readonly citus: boolean;
  readonly types: Readonly<Record<string, string>>;
}

// A custom setting's name: `prefix.name`, plain identifiers (they are inlined in SET LOCAL).
const SETTING = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
// A type name as written in a cast: `bigint`, `uuid`, `character varying(36)`, `myschema.tenant_key`.
const TYPE = /^[A-Za-z_][A-Za-z0-9_ .]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?$/;

/** True for a type name that can stand in a cast (`bigint`, `uuid`, `character varying(36)`). */
export function isSqlTypeName(type: string): boolean {
  return TYPE.test(type);
}

function bad(message: string): ScopeError {
  return new ScopeError('INVALID_DEFINITION', `defineScopes: rls: ${message}`);
}

export function parseRlsOptions(rls: unknown): RlsConfig | undefined {
  if (rls === undefined) return undefined;
  if (typeof rls !== 'object' || rls === null || Array.isArray(rls)) {
    throw bad("takes an object, e.g. rls: { setting: 'knex_scopes.scope' }.");
  }
  const { setting, citus, types, ...rest } = rls as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw bad(`unknown option(s) ${unknown.map((k) => `"${k}"`).join(', ')}.`);
  if (typeof setting !== 'string' || !SETTING.test(setting)) {
    throw bad(
      `setting must name a custom setting with a dot, made of plain identifiers (e.g. 'knex_scopes.scope'), got ${JSON.stringify(setting)}.`,
    );
  }
  if (citus !== undefined && typeof citus !== 'boolean') throw bad('citus must be a boolean.');
  const checkedTypes: Record<string, string> = {};
  if (types !== undefined) {
    if (typeof types !== 'object' || types === null || Array.isArray(types)) {
      throw bad("types must be an object of dimension (or 'table.column') → SQL type, e.g. { tenant: 'uuid' }.");
    }
    for (const [key, type] of Object.entries(types as Record<string, unknown>)) {
      if (typeof type !== 'string' || !TYPE.test(type.trim())) {
        throw bad(`types["${key}"] must be an SQL type name such as 'bigint' or 'uuid', got ${JSON.stringify(type)}.`);
      }
      checkedTypes[key] = type.trim();
    }
  }
  return Object.freeze({ setting, citus: citus === true, types: Object.freeze(checkedTypes) });
}
