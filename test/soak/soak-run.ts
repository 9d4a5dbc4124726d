// One adapter's fault-injected soak on PostgreSQL: a storm of concurrent requests over 50
// tenants while faults are injected, every answer judged, then a clean round that must be
// entirely correct (nothing of the storm's scopes or connections left behind).
import { getScope } from '@knex-scopes/core';
import { tenantResolver } from '@knex-scopes/core/http';
import knex, { type Knex } from 'knex';
import { buildApp, type Framework, type RunningApp } from '../adapters/support/apps';
import type { Call } from '../adapters/support/http-client';
import { DEFAULT_FROM, scopes, slugOf, TENANT_COUNT, type Tenant } from '../adapters/support/schema';
import type { TestDb } from '../support/databases';
import { soakClient } from './client';
import { APP_NAME, type FaultCounts, type FaultPlan, Faults } from './faults';
import { judge, type Planned, plan } from './requests';

export interface SoakOptions {
  readonly requests: number;
  readonly rounds: number;
  readonly abortRate: number;
  readonly faults: FaultPlan;
}

export interface SoakResult {
  readonly framework: Framework;
  requests: number;
  ok: number;
  aborted: number;
  /** Error answers by "status code", e.g. "500 POOL_TIMEOUT". */
  readonly errors: Map<string, number>;
  /** Answers that were neither correct nor an error status (a leak is also listed here). */
  readonly wrong: string[];
  leaks: number;
  /** Requests the server dropped without an answer (the client had not aborted them). */
  readonly dropped: string[];
  readonly faults: FaultCounts;
  cleanOk: number;
  cleanTotal: number;
  readonly cleanWrong: string[];
  /** Pages written by the storm whose title names another tenant than their tenant_id. */
  misattributed: number;
  /** App connections left idle in a transaction, and pool connections still held, after each round. */
  readonly leftovers: string[];
  ms: number;
}

const quiet = { warn: () => {}, error: () => {}, debug: () => {}, deprecate: () => {} };

interface Pool {
  numUsed(): number;
  numPendingAcquires(): number;
}

function appKnex(testDb: TestDb, faults: Faults): Knex {
  const config = testDb.config();
  return knex({
    ...config,
    connection: { ...(config.connection as object), application_name: APP_NAME },
    // small on purpose: long queries exhaust it and requests time out waiting
    pool: { min: 0, max: 6 },
    acquireConnectionTimeout: 250,
    postProcessResponse: faults.postProcessResponse,
    log: quiet,
  });
}

async function settle(app: Knex, admin: Knex, result: SoakResult, round: number): Promise<void> {
  const pool = (app.client as { pool: Pool }).pool;
  for (let i = 0; i < 100 && (pool.numUsed() > 0 || pool.numPendingAcquires() > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (pool.numUsed() > 0) result.leftovers.push(`round ${round}: ${pool.numUsed()} pool connection(s) still held`);
  const { rows } = (await admin.raw(
    "select count(*)::int as n from pg_stat_activity where application_name = ? and state like 'idle in transaction%'",
    [APP_NAME],
  )) as { rows: Array<{ n: number }> };
  if (rows[0]!.n > 0) result.leftovers.push(`round ${round}: ${rows[0]!.n} connection(s) idle in a transaction`);
  const outside = getScope();
  if (Object.keys(outside.values).length > 0 || !outside.enabled) {
    result.leftovers.push(`round ${round}: the test process itself is in a scope: ${JSON.stringify(outside)}`);
  }
}

async function storm(app: RunningApp, options: SoakOptions, result: SoakResult): Promise<void> {
  const client = soakClient(app.server, 128);
  try {
    const planned = Array.from({ length: options.requests }, (_, i) => plan(i, options.abortRate));
    const sent = await Promise.all(
      planned.map((p) =>
        client.send(p.call, p.abortAfterMs).catch((error: Error) => ({ kind: 'dropped' as const, error })),
      ),
    );
    result.requests += planned.length;
    sent.forEach((s, i) => {
      const p = planned[i] as Planned;
      if (s.kind === 'aborted') result.aborted++;
      else if (s.kind === 'dropped') result.dropped.push(`${p.kind} ${p.call.path}: ${s.error.message}`);
      else tally(result, p, judge(p, s.reply), result.wrong);
    });
  } finally {
    client.close();
  }
}

function tally(result: SoakResult, p: Planned, verdict: ReturnType<typeof judge>, wrong: string[]): void {
  if ('wrong' in verdict) {
    wrong.push(`${p.kind} tenant ${p.tenant}: ${verdict.wrong}`);
    if (verdict.leak) result.leaks++;
  } else if (verdict.ok) result.ok++;
  else {
    const key = `${verdict.status} ${verdict.code}`;
    result.errors.set(key, (result.errors.get(key) ?? 0) + 1);
  }
}

/** Every tenant once on each route kind, no faults: everything must be right. */
async function cleanRound(app: RunningApp, result: SoakResult): Promise<void> {
  const client = soakClient(app.server, 32);
  try {
    const planned: Planned[] = [];
    for (let tenant = 1; tenant <= TENANT_COUNT; tenant++) {
      const slug = slugOf(tenant);
      const header = { 'x-tenant': slug };
      const calls: Array<[Planned['kind'], Call]> = [
        ['header', { path: '/pages', headers: header }],
        ['path', { path: `/t/${slug}/pages` }],
        ['post', { method: 'POST', path: '/pages', headers: header, json: { title: `soak ${slug}` } }],
      ];
      for (const [kind, call] of calls) planned.push({ kind, tenant, call });
    }
    planned.push({ kind: 'unknown', tenant: 0, call: { path: '/pages', headers: { 'x-tenant': 'ghost' } } });
    const sent = await Promise.all(planned.map((p) => client.send(p.call)));
    sent.forEach((s, i) => {
      const p = planned[i] as Planned;
      result.cleanTotal++;
      if (s.kind !== 'reply') {
        result.cleanWrong.push(`${p.kind} tenant ${p.tenant}: no answer`);
        return;
      }
      const verdict = judge(p, s.reply);
      const right = p.kind === 'unknown' ? s.reply.status === 404 : 'ok' in verdict && verdict.ok;
      if (right) result.cleanOk++;
      else
        result.cleanWrong.push(`${p.kind} tenant ${p.tenant}: status ${s.reply.status} ${s.reply.text.slice(0, 160)}`);
    });
  } finally {
    client.close();
  }
}

async function misattributedPages(admin: Knex): Promise<number> {
  const written = (await admin('pages').where('title', 'like', 'soak %').select('tenant_id', 'title')) as Array<{
    tenant_id: number;
    title: string;
  }>;
  return written.filter((row) => !row.title.startsWith(`soak ${slugOf(Number(row.tenant_id))} `)).length;
}

export async function soakAdapter(framework: Framework, testDb: TestDb, options: SoakOptions): Promise<SoakResult> {
  const faults = new Faults(options.faults);
  const result: SoakResult = {
    framework,
    requests: 0,
    ok: 0,
    aborted: 0,
    errors: new Map(),
    wrong: [],
    leaks: 0,
    dropped: [],
    faults: faults.counts,
    cleanOk: 0,
    cleanTotal: 0,
    cleanWrong: [],
    misattributed: 0,
    leftovers: [],
    ms: 0,
  };
  const admin = testDb.knex();
  const app = appKnex(testDb, faults);
  const lookup = faults.flakyLookup(async (key: string): Promise<Tenant | undefined> => {
    const row = (await app('tenants').where({ slug: key }).first()) as Tenant | undefined;
    return row === undefined ? undefined : { id: Number(row.id), slug: row.slug };
  });
  const running = await buildApp(framework, {
    resolver: tenantResolver({ from: DEFAULT_FROM, lookup }),
    db: scopes.wrap(app),
  });
  const started = Date.now();
  try {
    for (let round = 1; round <= options.rounds; round++) {
      faults.start(admin, app);
      try {
        await storm(running, options, result);
      } finally {
        await faults.stop();
      }
      await settle(app, admin, result, round);
      await cleanRound(running, result);
    }
    result.misattributed = await misattributedPages(admin);
  } finally {
    result.ms = Date.now() - started;
    await running.close();
    await app.destroy();
    await admin('pages').where('title', 'like', 'soak %').del();
  }
  return result;
}

const counts = (map: ReadonlyMap<string, number>) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

export function soakLine(r: SoakResult): string {
  const f = r.faults;
  const failed = [...r.errors.values()].reduce((a, b) => a + b, 0);
  return (
    `[soak] ${r.framework} on pg: ${r.requests} requests over ${TENANT_COUNT} tenants in ${(r.ms / 1000).toFixed(1)} s: ` +
    `${r.ok} ok, ${failed} error statuses (${counts(r.errors)}), ${r.aborted} aborted by the client, ` +
    `${r.dropped.length} dropped; faults: ${f.killed} backends killed, ${f.hogs} long queries, ` +
    `${f.lookupErrors} lookups threw, ${f.afterQueryErrors} errors after a query; ` +
    `leaks ${r.leaks}, wrong ${r.wrong.length}, misattributed writes ${r.misattributed}; ` +
    `clean rounds ${r.cleanOk}/${r.cleanTotal} correct, leftovers ${r.leftovers.length}`
  );
}
