// The router check over the whole suite: every statement a scoped instance compiles for PostgreSQL
// in a single-tenant scope (core publishes each on 'knex-scopes:query', see
// packages/core/src/knex/query-channel.ts) is collected while the tests run and checked with the
// real parser once they are done (router-check.ts). Loaded by test/support/global-setup.ts.
//
// Left out, by rule: other dialects; statements outside any scope, under scopesDisabled() or
// withScopesDisabled(); a scope holding no single key (a list of several tenants, or ALL: those
// reach several shards by design); statements carrying a trustRaw()'d raw (vouched for, as
// written); report mode (it lets a query the enforce mode refuses run as written).
// The one form the library sends on purpose without `colocateJoins` (router-check.ts `known`: a
// full outer join's presence-aware filters) is counted, not failed, for statements of instances
// without that option; from an instance with it, or with KNEX_SCOPES_ROUTER_CHECK_STRICT=1, it fails. KNEX_SCOPES_ROUTER_CHECK=0 turns the capture off;
// KNEX_SCOPES_ROUTER_CHECK_DUMP=<file> also writes the distinct statements checked, one JSON
// object a line, to study them without a run.
import diagnostics_channel from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { ALL, type ScopeState, type TablePolicy } from '@knex-scopes/core';
import { loadParser } from './pg-ast';
import {
  checkParsed,
  parseForRouterCheck,
  type RouterFinding,
  type RouterRules,
  type TenantColumn,
} from './router-check';

const CHANNEL = 'knex-scopes:query';

/** What core publishes (QueryMessage in query-channel.ts), as far as the check reads it. */
interface QueryMessage {
  readonly sql: string;
  readonly bindings: readonly unknown[];
  readonly dialect: string;
  readonly state: ScopeState | undefined;
  readonly trustedRaw: boolean;
  readonly mode: 'enforce' | 'report';
  readonly colocateJoins: boolean;
  readonly tables: ReadonlyMap<string, TablePolicy>;
  readonly tableOf: (sqlName: string) => TablePolicy | undefined;
  readonly sqlColumn: (declared: string) => string;
}

/** Where the statement came from: mocha's runner knows the test or hook running now. */
export interface RunnableSource {
  readonly currentRunnable?: { fullTitle(): string } | undefined;
}

interface Captured {
  readonly declared: Readonly<Record<string, readonly TenantColumn[]>>;
  readonly sql: string;
  readonly bindings: readonly unknown[];
  readonly rules: RouterRules;
  readonly where: string;
  /** Compiled by an instance with `colocateJoins`: no known form is allowed. */
  readonly colocateJoins: boolean;
  count: number;
}

interface Failure {
  readonly captured: Captured;
  readonly findings: readonly RouterFinding[];
}

const captured = new Map<string, Captured>();
const skipped = new Map<string, number>();
let statements = 0;
/** Time spent in the subscriber while the tests ran. */
let captureNs = 0n;
let source: RunnableSource | undefined;
let subscribed = false;

/** Per declaration, the distributed tables a name of the SQL means: those with a direct column. */
interface Distribution {
  readonly id: number;
  readonly of: RouterRules['distributed'];
  /** The declared tables with a direct column, for the dump. */
  readonly declared: Readonly<Record<string, readonly TenantColumn[]>>;
}
const distributions = new WeakMap<ReadonlyMap<string, TablePolicy>, Distribution>();
let nextDistribution = 0;

function distributionOf(message: QueryMessage): Distribution {
  let found = distributions.get(message.tables);
  if (found) return found;
  const cache = new Map<string, readonly TenantColumn[] | undefined>();
  const of = (table: string) => {
    if (cache.has(table)) return cache.get(table);
    const policy = message.tableOf(table);
    const columns = policy?.rules
      .filter((rule) => rule.kind === 'direct')
      .map((rule) => ({ dimension: rule.dimension, column: message.sqlColumn(rule.column) }));
    const result = columns && columns.length > 0 ? columns : undefined;
    cache.set(table, result);
    return result;
  };
  const declared: Record<string, readonly TenantColumn[]> = {};
  for (const policy of message.tables.values()) {
    const columns = of(policy.table);
    if (columns) declared[policy.table] = columns;
  }
  found = { id: nextDistribution++, of, declared };
  distributions.set(message.tables, found);
  return found;
}

/** The dimensions the scope holds one key for (a one-element list counts: `IN (x)` pins). */
function singleKeys(state: ScopeState): Record<string, string | number | bigint> | undefined {
  const keys: Record<string, string | number | bigint> = {};
  let any = false;
  for (const [dimension, value] of Object.entries(state.values)) {
    if (value === ALL) continue;
    const key = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
    if (key === undefined) continue;
    keys[dimension] = key as string | number | bigint;
    any = true;
  }
  return any ? keys : undefined;
}

function skip(reason: string): void {
  skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
}

const json = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';

function onQuery(raw: unknown): void {
  const begin = process.hrtime.bigint();
  try {
    collect(raw);
  } catch (error) {
    // An observer must never change a test's outcome; a broken capture shows in the report.
    skip(`capture failed: ${(error as Error).message}`);
  }
  captureNs += process.hrtime.bigint() - begin;
}

/** Why a statement is left out, by rule; undefined when it is checked. */
function leftOut(message: QueryMessage): string | undefined {
  const { state } = message;
  if (!state) return 'outside any scope';
  if (!state.enabled) return 'scopes disabled';
  if (message.trustedRaw) return 'trustRaw()';
  if (message.mode === 'report') return 'report mode';
  return undefined;
}

function collect(raw: unknown): void {
  const message = raw as QueryMessage;
  if (message.dialect !== 'postgresql') return;
  statements++;
  const reason = leftOut(message);
  const scope = reason === undefined && message.state ? singleKeys(message.state) : undefined;
  if (!scope) {
    skip(reason ?? 'no single-key scope (several tenants, ALL)');
    return;
  }
  const distribution = distributionOf(message);
  const key = `${distribution.id}\u0000${json(scope)}\u0000${message.colocateJoins}\u0000${message.sql}\u0000${json(message.bindings)}`;
  const seen = captured.get(key);
  if (seen) {
    seen.count++;
    return;
  }
  captured.set(key, {
    declared: distribution.declared,
    sql: message.sql,
    bindings: message.bindings.slice(),
    rules: { distributed: distribution.of, scope },
    where: source?.currentRunnable?.fullTitle() ?? '(outside any test)',
    colocateJoins: message.colocateJoins,
    count: 1,
  });
}

/** Starts collecting (once); `runner` is mocha's, to name the test behind each statement. */
export async function startQueryCapture(runner: RunnableSource | undefined): Promise<boolean> {
  if (process.env.KNEX_SCOPES_ROUTER_CHECK === '0') return false;
  source = runner;
  if (!subscribed) {
    await loadParser();
    diagnostics_channel.subscribe(CHANNEL, onQuery);
    subscribed = true;
  }
  return true;
}

export interface CaptureReport {
  /** PostgreSQL statements compiled by scoped instances, all of them. */
  readonly statements: number;
  /** Of those, checked (in a single-tenant scope), and how many distinct. */
  readonly checked: number;
  readonly distinct: number;
  readonly skipped: ReadonlyMap<string, number>;
  readonly failures: readonly Failure[];
  /** Statements whose only findings are the full-join form, from instances without colocateJoins. */
  readonly known: readonly Failure[];
  /** Spent collecting while the tests ran, and checking at the end. */
  readonly captureMs: number;
  readonly ms: number;
}

/** Stops collecting and checks every distinct statement collected. */
export function finishQueryCapture(): CaptureReport | undefined {
  if (!subscribed) return undefined;
  diagnostics_channel.unsubscribe(CHANNEL, onQuery);
  subscribed = false;
  const begin = performance.now();
  const parsed = new Map<string, ReturnType<typeof parseForRouterCheck>>();
  const failures: Failure[] = [];
  const known: Failure[] = [];
  const strict = process.env.KNEX_SCOPES_ROUTER_CHECK_STRICT === '1';
  let checked = 0;
  for (const item of captured.values()) {
    checked += item.count;
    let statementsOf = parsed.get(item.sql);
    if (!statementsOf) {
      statementsOf = parseForRouterCheck(item.sql);
      parsed.set(item.sql, statementsOf);
    }
    const findings = Array.isArray(statementsOf)
      ? checkParsed(statementsOf, item.bindings, item.rules)
      : [statementsOf];
    if (findings.length === 0) continue;
    // the full-join form is the library's choice only without colocateJoins (the Citus option)
    if (!strict && !item.colocateJoins && findings.every((f) => f.known !== undefined)) {
      known.push({ captured: item, findings });
    } else failures.push({ captured: item, findings });
  }
  const dump = process.env.KNEX_SCOPES_ROUTER_CHECK_DUMP;
  if (dump) {
    const line = (c: Captured) =>
      json({
        where: c.where,
        count: c.count,
        scope: c.rules.scope,
        declared: c.declared,
        sql: c.sql,
        bindings: c.bindings,
      });
    writeFileSync(dump, [...captured.values()].map(line).join('\n'));
  }
  return {
    statements,
    checked,
    distinct: captured.size,
    skipped: new Map(skipped),
    failures,
    known,
    captureMs: Number(captureNs) / 1e6,
    ms: performance.now() - begin,
  };
}

const SHOWN = 40;

function knownCounts(known: readonly Failure[]): string {
  const counts = new Map<string, number>();
  for (const failure of known) {
    for (const kind of new Set(failure.findings.map((f) => f.known ?? '')))
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, n]) => `${n} distinct ${kind}`).join(', ');
}

/** The summary line, and for failures the statements with their test and why. */
export function describeReport(report: CaptureReport): string[] {
  const left = [...report.skipped].map(([reason, n]) => `${n} ${reason}`).join(', ');
  const lines = [
    `[router-check] ${report.checked} PostgreSQL statement(s) compiled in a single-tenant scope ` +
      `(${report.distinct} distinct; collected in ${(report.captureMs / 1000).toFixed(1)}s, checked in ${(report.ms / 1000).toFixed(1)}s): ` +
      (report.failures.length === 0
        ? 'all router-friendly'
        : `${report.failures.length} distinct NOT router-friendly`) +
      (report.known.length === 0
        ? ''
        : ` (full outer joins without colocateJoins, not failed: ${knownCounts(report.known)})`) +
      `; left out by rule: ${left || 'none'}`,
  ];
  for (const failure of report.failures.slice(0, SHOWN)) {
    const { captured: c } = failure;
    lines.push(
      '',
      `  in: ${c.where}${c.count > 1 ? ` (and ${c.count - 1} more time(s))` : ''}`,
      `  scope: ${json(c.rules.scope)}`,
      `  sql: ${c.sql}`,
      `  bindings: ${json(c.bindings)}`,
      ...failure.findings.map((f) => `  - ${f.alias === f.table ? f.table : `${f.table} as ${f.alias}`}: ${f.problem}`),
    );
  }
  if (report.failures.length > SHOWN) lines.push('', `  … and ${report.failures.length - SHOWN} more`);
  return lines;
}
