// The doctor's config file: what its default export holds, and the check of what it really holds.
import type { Knex } from 'knex';
import { DoctorError } from './doctor-error';
import type { DoctorOptions } from './run-doctor';

/** The default export of `knex-scopes doctor --config <file>`: the options of runDoctor(). */
export type DoctorConfig = DoctorOptions;

/** Types a config file's default export: `export default defineDoctorConfig({ scopes, knex })`. */
export function defineDoctorConfig(config: DoctorConfig): DoctorConfig {
  return config;
}

/** The config a file exported: an object, or a function (maybe async) returning one. */
export async function configFromExport(exported: unknown, file: string): Promise<DoctorConfig> {
  let value = exported;
  // A module namespace holds the config under `default`, twice when TypeScript compiled
  // `export default` to CommonJS (module.exports = { __esModule, default }).
  for (let depth = 0; depth < 3 && isObject(value) && 'default' in value; depth++) value = value.default;
  if (typeof value === 'function' && !isKnexLike(value)) value = await (value as () => unknown)();
  if (!isObject(value)) {
    throw new DoctorError('CONFIG', `${file}: the default export must be { scopes, knex } (got ${typeof value}).`);
  }
  const { scopes, knex, global, schema } = value as Record<string, unknown>;
  if (!isObject(scopes) || !(scopes.tables instanceof Map)) {
    throw new DoctorError('CONFIG', `${file}: \`scopes\` must be the result of defineScopes() from @knex-scopes/core.`);
  }
  if (!isKnexLike(knex) && !(isObject(knex) && 'client' in knex)) {
    throw new DoctorError(
      'CONFIG',
      `${file}: \`knex\` must be a Knex instance or a Knex config ({ client, connection }).`,
    );
  }
  if (global !== undefined && !(Array.isArray(global) && global.every((g) => typeof g === 'string'))) {
    throw new DoctorError('CONFIG', `${file}: \`global\` must be an array of table names.`);
  }
  if (schema !== undefined && typeof schema !== 'string') {
    throw new DoctorError('CONFIG', `${file}: \`schema\` must be a string.`);
  }
  return value as unknown as DoctorConfig;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isKnexLike(value: unknown): value is Knex {
  return typeof value === 'function' && typeof (value as { raw?: unknown }).raw === 'function';
}
