// The run-wide registry of test databases: which dialects suites use, one backend per dialect
// (started once, on first need), the header/summary lines, and the teardown.
import { rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from './db-backend';
import { type Dialect, type DialectPlan, planDialects } from './db-dialects';
import { externalMysql, throwawayMariadb } from './db-mariadb';
import { externalPostgres, throwawayPostgres } from './db-postgres';
import { ownRunDirs, SHM, sweepStaleRunDirs } from './db-process';
import { sqliteBackend } from './db-sqlite';

interface Started {
  readonly backend?: Backend;
  readonly error?: Error;
  readonly ms: number;
}

interface Registry {
  plans?: DialectPlan[];
  readonly used: Set<Dialect>;
  readonly starting: Map<Dialect, Promise<Backend>>;
  readonly started: Map<Dialect, Started>;
  /** Suites whose database was created, per dialect. */
  readonly suites: Map<Dialect, number>;
  sweep?: Promise<unknown>;
  hooked: boolean;
  /** Set once the mocha global setup has started the dialects. */
  globalSetup: boolean;
}

const registry: Registry = {
  used: new Set(),
  starting: new Map(),
  started: new Map(),
  suites: new Map(),
  hooked: false,
  globalSetup: false,
};

/** The plan for every dialect; throws on a malformed KNEX_SCOPES_* variable. */
export function dialectPlans(): readonly DialectPlan[] {
  registry.plans ??= planDialects();
  return registry.plans;
}

function planOf(dialect: Dialect): DialectPlan {
  return dialectPlans().find((plan) => plan.dialect === dialect)!;
}

export function markUsed(dialect: Dialect): void {
  registry.used.add(dialect);
}

export function countSuite(dialect: Dialect): void {
  registry.suites.set(dialect, (registry.suites.get(dialect) ?? 0) + 1);
}

/** The dialect's backend, started on first call; rejects with the reason it can't be had. */
export function backendFor(dialect: Dialect): Promise<Backend> {
  let pending = registry.starting.get(dialect);
  if (!pending) {
    pending = start(planOf(dialect));
    pending.catch(() => {}); // reported through the registry and each suite's before()
    registry.starting.set(dialect, pending);
  }
  return pending;
}

/** Starts every dialect some declared suite uses, in parallel, and waits for all of them. */
export async function startUsedDialects(): Promise<void> {
  registry.globalSetup = true;
  const startable = [...registry.used].filter((dialect) => planOf(dialect).source.kind !== 'missing');
  await Promise.allSettled(startable.map((dialect) => backendFor(dialect)));
}

async function start(plan: DialectPlan): Promise<Backend> {
  const begin = Date.now();
  try {
    installExitCleanup();
    registry.sweep ??= sweepStaleRunDirs(ownRunDirs().map((dir) => join(dir, '..')));
    await registry.sweep;
    const backend = await open(plan);
    registry.started.set(plan.dialect, { backend, ms: Date.now() - begin });
    return backend;
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    registry.started.set(plan.dialect, { error: reason, ms: Date.now() - begin });
    throw reason;
  } finally {
    // Without the global setup (mocha --no-config) nobody prints the header: say it here.
    if (!registry.globalSetup) console.log(statusLine(dialectStatuses().find((s) => s.dialect === plan.dialect)!));
  }
}

function open({ dialect, source }: DialectPlan): Promise<Backend> {
  switch (source.kind) {
    case 'sqlite':
      return Promise.resolve(sqliteBackend());
    case 'url':
      return dialect === 'pg' ? externalPostgres(source.env, source.url) : externalMysql(source.url);
    case 'postgres-binaries':
      return throwawayPostgres(source.binDir);
    case 'mariadb-binaries':
      return throwawayMariadb(source.server, source.installDb);
    case 'missing':
      return Promise.reject(new Error(`${dialect} unavailable: ${source.reason}`));
    case 'deselected':
      return Promise.reject(new Error(`${dialect} is not selected (KNEX_SCOPES_DIALECTS)`));
  }
}

/** Closes every backend (stopping the servers this run started) and removes the run dirs. */
export async function stopAll(): Promise<void> {
  const backends = await Promise.allSettled([...registry.starting.values()]);
  registry.starting.clear();
  for (const result of backends) {
    if (result.status === 'fulfilled') await result.value.close();
  }
  for (const dir of ownRunDirs()) rmSync(dir, { recursive: true, force: true });
}

// Servers stop on their own when we exit (see db-process); here only our own files go. Signals
// become exits so that this runs on Ctrl-C too.
function installExitCleanup(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  let exiting = false;
  process.once('exit', () => {
    for (const dir of ownRunDirs()) {
      rmSync(join(dir, 'sqlite'), { recursive: true, force: true });
      if (dir.startsWith(`${SHM}/`)) rmSync(dir, { recursive: true, force: true });
      try {
        rmdirSync(dir); // empty unless a server is still shutting down; its watchdog removes it then
      } catch {}
    }
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    // `on`, not `once`: mocha's launcher follows Ctrl-C with SIGINT and SIGTERM of its own, and a
    // signal without a listener would kill the process in the middle of the exit cleanup.
    process.on(signal, () => {
      if (!exiting) {
        exiting = true;
        process.exit(code);
      }
    });
  }
}

export type DialectState = 'ready' | 'failed' | 'missing' | 'unused' | 'deselected';

export interface DialectStatus {
  readonly dialect: Dialect;
  readonly state: DialectState;
  readonly required: boolean;
  /** What the header prints after "<dialect>: ". */
  readonly detail: string;
  /** Suites whose database was created so far. */
  readonly suites: number;
}

export function dialectStatuses(): DialectStatus[] {
  return dialectPlans().map((plan) => {
    const base = { dialect: plan.dialect, required: plan.required, suites: registry.suites.get(plan.dialect) ?? 0 };
    const started = registry.started.get(plan.dialect);
    const { source } = plan;
    if (source.kind === 'missing') {
      return { ...base, state: 'missing', detail: `${plan.required ? 'MISSING' : 'SKIPPED'} (${source.reason})` };
    }
    if (started?.backend) {
      return { ...base, state: 'ready', detail: `${started.backend.description}, ready in ${seconds(started.ms)}` };
    }
    if (started?.error) {
      const verb = plan.required ? 'FAILED' : 'SKIPPED';
      return { ...base, state: 'failed', detail: `${verb} (could not start: ${firstLine(started.error.message)})` };
    }
    if (source.kind === 'deselected') {
      return { ...base, state: 'deselected', detail: 'not selected (KNEX_SCOPES_DIALECTS)' };
    }
    return { ...base, state: 'unused', detail: 'available, not started (no loaded suite uses it)' };
  });
}

/** One line per dialect, e.g. "[databases] mysql: SKIPPED (no MYSQL_URL and no mariadbd ...)". */
export function statusLines(summary = false): string[] {
  return dialectStatuses().map((status) => statusLine(status, summary));
}

// How to run a dialect that did not run: said on its line, so a skip is never silent.
const ENABLE: Record<string, string> = {
  sqlite: 'npm install builds better-sqlite3; check that it installed',
  pg: 'apt-get install postgresql (the suite starts its own throwaway server), or set PG_URL',
  mysql: 'apt-get install mariadb-server (the suite starts its own throwaway server), or set MYSQL_URL',
};

function statusLine(status: DialectStatus, summary = false): string {
  const required = status.required ? ' [required]' : '';
  const suites = summary && status.state !== 'deselected' ? `, ${status.suites} suite(s) ran` : '';
  const hint =
    status.state === 'missing' || status.state === 'failed'
      ? ` — to run it: ${ENABLE[status.dialect] ?? 'see docs/testing.md'}`
      : status.state === 'deselected'
        ? ' — to run it: leave it in KNEX_SCOPES_DIALECTS, or unset it'
        : '';
  return `[databases]${summary ? ' summary' : ''} ${status.dialect}: ${status.detail}${suites}${required}${hint}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}
