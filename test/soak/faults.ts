// The faults injected while the soak runs, each with a counter: PostgreSQL backends of the app
// killed (pg_terminate_backend), its small pool held by long queries, tenant lookups that
// throw, and queries whose result is thrown away by an error raised right after them.
import type { Knex } from 'knex';

export const APP_NAME = 'ks-soak-app';

export interface FaultCounts {
  killed: number;
  hogs: number;
  lookupErrors: number;
  afterQueryErrors: number;
}

export class InjectedError extends Error {
  constructor(readonly code: string) {
    super(`injected fault: ${code}`);
  }
}

export interface FaultPlan {
  /** Probability that a tenant lookup throws. */
  readonly lookupError: number;
  /** Probability that a query's result is replaced by a thrown error. */
  readonly afterQueryError: number;
  /** Milliseconds between two backend kills. */
  readonly killEveryMs: number;
  /** Milliseconds between two bursts of long queries, and how many each burst holds. */
  readonly hogEveryMs: number;
  readonly hogBurst: number;
  readonly hogMs: number;
}

export const DEFAULT_FAULTS: FaultPlan = {
  lookupError: 0.03,
  afterQueryError: 0.03,
  killEveryMs: 80,
  // the pool has 6 connections and waits 250 ms for one: these bursts exhaust it for a while
  hogEveryMs: 1500,
  hogBurst: 6,
  hogMs: 400,
};

/** Switched on for the storm, off for the clean round; read by the hooks below. */
export class Faults {
  on = false;
  readonly counts: FaultCounts = { killed: 0, hogs: 0, lookupErrors: 0, afterQueryErrors: 0 };
  private timers: NodeJS.Timeout[] = [];
  private pending = new Set<Promise<unknown>>();

  constructor(readonly plan: FaultPlan = DEFAULT_FAULTS) {}

  /** For the app's Knex config: may throw after a query has run. */
  readonly postProcessResponse = (result: unknown): unknown => {
    if (this.on && Math.random() < this.plan.afterQueryError) {
      this.counts.afterQueryErrors++;
      throw new InjectedError('INJECTED_AFTER_QUERY');
    }
    return result;
  };

  /** Wraps the tenant lookup: may throw before looking. */
  flakyLookup<T>(lookup: (key: string) => Promise<T>): (key: string) => Promise<T> {
    return async (key) => {
      if (this.on && Math.random() < this.plan.lookupError) {
        this.counts.lookupErrors++;
        throw new InjectedError('INJECTED_LOOKUP');
      }
      return lookup(key);
    };
  }

  /** Starts killing the app's backends (from `admin`) and hogging its pool (through `app`). */
  start(admin: Knex, app: Knex): void {
    this.on = true;
    const track = (p: Promise<unknown>) => {
      const settled = p.catch(() => undefined);
      this.pending.add(settled);
      void settled.then(() => this.pending.delete(settled));
    };
    this.timers.push(
      setInterval(() => {
        track(
          admin
            .raw(
              'select pg_terminate_backend(pid) as killed from pg_stat_activity ' +
                // the long queries are left alone: they are there to hold the pool
                "where application_name = ? and pid <> pg_backend_pid() and query not like '%pg_sleep%' " +
                'order by random() limit 1',
              [APP_NAME],
            )
            .then((r: { rows: Array<{ killed: boolean }> }) => {
              this.counts.killed += r.rows.filter((row) => row.killed).length;
            }),
        );
      }, this.plan.killEveryMs),
      setInterval(() => {
        for (let i = 0; i < this.plan.hogBurst; i++) {
          this.counts.hogs++;
          track(app.raw('select pg_sleep(?)', [this.plan.hogMs / 1000]));
        }
      }, this.plan.hogEveryMs),
    );
  }

  /** Stops injecting and waits for the kills and long queries in flight. */
  async stop(): Promise<void> {
    this.on = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.all([...this.pending]);
  }
}
