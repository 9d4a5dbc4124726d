// Loading the config file: JavaScript through import(), TypeScript through the project's tsx.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configFromExport, type DoctorConfig } from './config';
import { DoctorError } from './doctor-error';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

export async function loadConfig(file: string, cwd: string = process.cwd()): Promise<DoctorConfig> {
  const path = resolve(cwd, file);
  if (!existsSync(path)) throw new DoctorError('CONFIG', `no config file at ${path}`);
  let exported: unknown;
  try {
    exported = TYPESCRIPT.has(extname(path))
      ? await importTypeScript(path, cwd)
      : await import(pathToFileURL(path).href);
  } catch (error) {
    if (error instanceof DoctorError) throw error;
    throw new DoctorError('CONFIG', `${file} could not be loaded: ${messageOf(error)}`, { cause: error });
  }
  return configFromExport(exported, file);
}

/** tsx's ESM API, the one call the doctor makes (typed here: tsx is the project's, not ours). */
interface TsxApi {
  tsImport(specifier: string, parentURL: string): Promise<unknown>;
}

async function importTypeScript(path: string, cwd: string): Promise<unknown> {
  const tsx = await findTsx([dirname(path), cwd]);
  if (tsx) return tsx.tsImport(pathToFileURL(path).href, pathToFileURL(__filename).href);
  try {
    // Already under a TypeScript loader (node --import tsx), or Node strips the types itself.
    return await import(pathToFileURL(path).href);
  } catch (error) {
    throw new DoctorError(
      'CONFIG',
      `${path} is TypeScript and could not be loaded (${messageOf(error)}). Install tsx in the project ` +
        '(npm install -D tsx), run the doctor under it (npx tsx node_modules/.bin/knex-scopes doctor …), ' +
        'or write the config in JavaScript.',
      { cause: error },
    );
  }
}

/** tsx as installed next to the config or in the working directory's project. */
async function findTsx(directories: readonly string[]): Promise<TsxApi | undefined> {
  for (const directory of directories) {
    const entry = tsxEsmEntry(directory);
    if (!entry) continue;
    const api = (await import(pathToFileURL(entry).href)) as Partial<TsxApi>;
    if (typeof api.tsImport === 'function') return api as TsxApi;
  }
  return undefined;
}

/**
 * The ESM build of `tsx/esm/api` as resolved from `directory`. Its CommonJS build cannot be
 * used: in tsx 4.23 (Node 20) its tsImport() looks for its loader at a path it does not ship.
 */
function tsxEsmEntry(directory: string): string | undefined {
  let manifestPath: string;
  try {
    manifestPath = createRequire(join(directory, 'knex-scopes.config.js')).resolve('tsx/package.json');
  } catch {
    return undefined; // not installed there
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: Record<string, unknown> };
  let target: unknown = manifest.exports?.['./esm/api'];
  while (typeof target === 'object' && target !== null) {
    const conditions = target as { import?: unknown; default?: unknown };
    target = conditions.import ?? conditions.default;
  }
  return typeof target === 'string' ? join(dirname(manifestPath), target) : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
