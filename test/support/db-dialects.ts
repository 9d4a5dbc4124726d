// Which test databases this run wants, and where each can come from. Synchronous and cheap: it
// only reads the environment and looks for binaries, so suites can be declared from it.
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Dialect = 'sqlite' | 'pg' | 'mysql';
export const DIALECTS: readonly Dialect[] = ['sqlite', 'pg', 'mysql'];

/** Where a dialect's databases come from, or why they can't. */
export type DialectSource =
  | { readonly kind: 'sqlite' }
  | { readonly kind: 'url'; readonly env: string; readonly url: string }
  | { readonly kind: 'postgres-binaries'; readonly binDir: string }
  | { readonly kind: 'mariadb-binaries'; readonly server: string; readonly installDb: string }
  | { readonly kind: 'missing'; readonly reason: string }
  | { readonly kind: 'deselected' };

export interface DialectPlan {
  readonly dialect: Dialect;
  readonly source: DialectSource;
  /** A missing required dialect fails the run instead of being skipped. */
  readonly required: boolean;
}

/** Reads KNEX_SCOPES_DIALECTS / KNEX_SCOPES_REQUIRE_DIALECTS / CI and looks for each dialect. */
export function planDialects(env: NodeJS.ProcessEnv = process.env): DialectPlan[] {
  const selected = dialectList(env, 'KNEX_SCOPES_DIALECTS') ?? DIALECTS;
  const explicit = dialectList(env, 'KNEX_SCOPES_REQUIRE_DIALECTS');
  const required = explicit ?? (isCi(env) ? selected : []);
  for (const dialect of required) {
    if (!selected.includes(dialect)) {
      throw new Error(
        `[databases] ${dialect} is required but KNEX_SCOPES_DIALECTS=${env.KNEX_SCOPES_DIALECTS} leaves it out`,
      );
    }
  }
  return DIALECTS.map((dialect) => ({
    dialect,
    required: required.includes(dialect),
    source: selected.includes(dialect) ? findSource(dialect, env) : { kind: 'deselected' },
  }));
}

/** CI runs every suite: a missing database or service fails instead of skipping. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

function dialectList(env: NodeJS.ProcessEnv, name: string): Dialect[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const names = raw.split(',').map((part) => part.trim().toLowerCase());
  for (const entry of names) {
    if (!DIALECTS.includes(entry as Dialect)) {
      throw new Error(`[databases] ${name}=${raw}: unknown dialect "${entry}" (known: ${DIALECTS.join(', ')})`);
    }
  }
  return names as Dialect[];
}

function findSource(dialect: Dialect, env: NodeJS.ProcessEnv): DialectSource {
  if (dialect === 'sqlite') return { kind: 'sqlite' };
  if (dialect === 'pg') {
    const urlVar = env.PG_URL ? 'PG_URL' : env.DATABASE_URL_PG ? 'DATABASE_URL_PG' : undefined;
    if (urlVar) return { kind: 'url', env: urlVar, url: env[urlVar]! };
    const binDir = postgresBinDir(env);
    if (binDir) return { kind: 'postgres-binaries', binDir };
    return { kind: 'missing', reason: 'no PG_URL and no PostgreSQL server binaries (initdb, postgres)' };
  }
  if (env.MYSQL_URL) return { kind: 'url', env: 'MYSQL_URL', url: env.MYSQL_URL };
  const server = findExecutable(['mariadbd', 'mysqld'], env);
  const installDb = findExecutable(['mariadb-install-db', 'mysql_install_db'], env);
  if (server && installDb) return { kind: 'mariadb-binaries', server, installDb };
  return { kind: 'missing', reason: 'no MYSQL_URL and no mariadbd + mariadb-install-db binaries' };
}

/** PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian), else initdb on PATH. */
function postgresBinDir(env: NodeJS.ProcessEnv): string | undefined {
  const hasServer = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  if (env.PG_BIN) return hasServer(env.PG_BIN) ? env.PG_BIN : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(debian, version, 'bin');
      if (hasServer(dir)) return dir;
    }
  }
  const initdb = findExecutable(['initdb'], env);
  return initdb && hasServer(join(initdb, '..')) ? join(initdb, '..') : undefined;
}

// PATH plus the sbin directories a non-root PATH often lacks (mariadbd lives in /usr/sbin).
export function findExecutable(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'].filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}
