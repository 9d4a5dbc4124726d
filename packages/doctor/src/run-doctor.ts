// The doctor as an API: read the database, compare it with the declaration, return findings.
import { existsSync } from 'node:fs';
import type { Scopes } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { checkDeclarations } from './check-declarations';
import { checkForeignKeys } from './check-foreign-keys';
import { checkIndexes } from './check-indexes';
import { checkPathKeys } from './check-path-keys';
import { checkRls } from './check-rls';
import { checkUndeclared } from './check-undeclared';
import { checkUniques } from './check-uniques';
import { readDeclaration } from './declaration';
import { DoctorError } from './doctor-error';
import { type Finding, sortFindings } from './findings';
import { dialectOf, introspect } from './introspect';
import { introspectPgSecurity } from './introspect-pg-rls';
import type { Dialect } from './live-schema';

export interface DoctorOptions {
  /** The result of defineScopes(). */
  readonly scopes: Scopes;
  /**
   * The database: a Knex instance (left open; pass the base one, not the wrapped one) or a Knex
   * config (an instance is made for the run and destroyed after it).
   */
  readonly knex: Knex | Knex.Config;
  /** Tables every tenant shares on purpose; they are never reported as undeclared. */
  readonly global?: readonly string[];
  /** PostgreSQL schema or MySQL database to read; default the connection's current one. */
  readonly schema?: string;
}

export interface DoctorReport {
  readonly dialect: Dialect;
  /** PostgreSQL's schema, MySQL's database, SQLite's `main`. */
  readonly schema: string;
  /** How many tables the declaration names, and how many the schema holds. */
  readonly declaredTables: number;
  readonly databaseTables: number;
  /** Whether the RLS checks ran (PostgreSQL, with the RLS bridge on). */
  readonly rlsChecked: boolean;
  /** Errors first. */
  readonly findings: readonly Finding[];
  readonly errors: number;
  readonly warnings: number;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { scopes, global = [], schema } = options;
  assertScopes(scopes);
  if (!Array.isArray(global) || !global.every((g) => typeof g === 'string')) {
    throw new DoctorError('CONFIG', '`global` must be an array of table names.');
  }
  const declaration = readDeclaration(scopes, global);
  const both = declaration.policies.filter((p) => global.some((g) => g.toLowerCase() === p.table.toLowerCase()));
  if (both.length > 0) {
    throw new DoctorError(
      'CONFIG',
      `${both.map((p) => `"${p.table}"`).join(', ')} listed as global but declared in defineScopes({ tables }): remove it from one.`,
    );
  }

  const owned = !isKnex(options.knex);
  const knex = isKnex(options.knex) ? options.knex : makeKnex(options.knex);
  try {
    const dialect = dialectOf(knex);
    const live = await read(() => introspect(knex, dialect, schema));
    const rlsChecked = declaration.rls !== null && dialect === 'pg';
    const findings = [
      ...checkDeclarations(live, declaration),
      ...checkPathKeys(live, declaration),
      ...checkUndeclared(live, declaration),
      ...checkIndexes(live, declaration),
      ...checkUniques(live, declaration),
      ...checkForeignKeys(live, declaration),
    ];
    if (rlsChecked) {
      const security = await read(() => introspectPgSecurity(knex, live.schema));
      findings.push(...checkRls(live, declaration, security));
    }
    const sorted = sortFindings(findings);
    return {
      dialect,
      schema: live.schema,
      declaredTables: declaration.policies.length,
      databaseTables: live.tables.length,
      rlsChecked,
      findings: sorted,
      errors: sorted.filter((f) => f.level === 'error').length,
      warnings: sorted.filter((f) => f.level === 'warning').length,
    };
  } finally {
    if (owned) await knex.destroy();
  }
}

function assertScopes(scopes: unknown): asserts scopes is Scopes {
  const tables = (scopes as { tables?: unknown } | null)?.tables;
  if (!(tables instanceof Map)) {
    throw new DoctorError('CONFIG', '`scopes` must be the result of defineScopes() from @knex-scopes/core.');
  }
}

function isKnex(value: Knex | Knex.Config): value is Knex {
  return typeof value === 'function' && typeof (value as Knex).raw === 'function';
}

function makeKnex(config: Knex.Config): Knex {
  if (typeof config !== 'object' || config === null || !config.client) {
    throw new DoctorError('CONFIG', '`knex` must be a Knex instance or a Knex config with a `client`.');
  }
  assertSqliteFile(config);
  try {
    return knexFactory(config);
  } catch (error) {
    throw new DoctorError('CONFIG', `the Knex config is refused: ${(error as Error).message}`, { cause: error });
  }
}

const CONNECTION_FAILURE =
  /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|password|authentication|Access denied|Unknown database|database "[^"]*" does not exist|SQLITE_CANTOPEN|unable to open/i;

/** SQLite drivers create a missing file: the doctor would then report an empty database. */
function assertSqliteFile(config: Knex.Config): void {
  const client = typeof config.client === 'string' ? config.client : '';
  const connection = config.connection as { filename?: unknown } | undefined;
  const filename = typeof connection === 'object' && connection !== null ? connection.filename : undefined;
  if (!/sqlite/i.test(client) || typeof filename !== 'string') return;
  if (filename === ':memory:' || filename.startsWith('file:') || existsSync(filename)) return;
  throw new DoctorError('CONNECTION', `the SQLite database "${filename}" does not exist.`);
}

/** A catalog query that fails means the doctor could not run, not that the schema is wrong. */
async function read<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DoctorError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const code = CONNECTION_FAILURE.test(message) ? 'CONNECTION' : 'INTROSPECTION';
    throw new DoctorError(code, `could not read the database: ${message}`, { cause: error });
  }
}
