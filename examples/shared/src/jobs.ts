// A small job queue kept in the database. A job is queued inside a request, with the request's
// scope captured as JSON; the worker runs it later, elsewhere, in exactly that scope.
import { captureScope, runInScope, type ScopeSnapshot, scopesDisabled } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { notFound } from './http-errors.js';
import { id } from './input.js';
import { insertRow } from './insert-row.js';

export type JobHandler = (db: Knex, payload: unknown) => Promise<unknown>;

export interface JobView {
  readonly id: number;
  readonly kind: string;
  readonly status: 'queued' | 'done' | 'failed';
  readonly result: unknown;
}

interface JobRow {
  id: number;
  kind: string;
  payload: string;
  scope: string | null;
  status: JobView['status'];
  result: string | null;
}

export class JobQueue {
  #draining: Promise<number> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly handlers: Readonly<Record<string, JobHandler>>,
  ) {}

  /** Queues a job in the current scope; the row is stamped with the tenant like any insert. */
  async enqueue(kind: string, payload: unknown): Promise<number> {
    if (!this.handlers[kind]) throw new Error(`No handler for jobs of kind ${kind}`);
    const scope = JSON.stringify(captureScope());
    return insertRow(this.db, 'jobs', { kind, payload: JSON.stringify(payload), scope });
  }

  /** A job of the current organization (another organization's job is not found). */
  async get(jobId: unknown): Promise<JobView> {
    const row = await this.db<JobRow>('jobs')
      .where({ id: id(jobId) })
      .first();
    if (!row) throw notFound('job');
    return { id: Number(row.id), kind: row.kind, status: row.status, result: row.result && JSON.parse(row.result) };
  }

  /** The worker: runs every queued job, of every organization, each in its own scope. */
  drain(): Promise<number> {
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  async #drain(): Promise<number> {
    // Finding the work spans all tenants: lifted explicitly, and easy to grep for.
    const queued = await scopesDisabled(() => this.db<JobRow>('jobs').where({ status: 'queued' }).orderBy('id'));
    for (const job of queued) await this.#run(job);
    return queued.length;
  }

  async #run(job: JobRow): Promise<void> {
    const handler = this.handlers[job.kind];
    try {
      if (!handler) throw new Error(`No handler for jobs of kind ${job.kind}`);
      // A job queued without a scope fails here (INVALID_SNAPSHOT) instead of running unscoped.
      const snapshot = (job.scope === null ? undefined : JSON.parse(job.scope)) as ScopeSnapshot;
      await runInScope(snapshot, async () => {
        const result = await handler(this.db, JSON.parse(job.payload));
        await this.db('jobs')
          .where({ id: job.id })
          .update({ status: 'done', result: JSON.stringify(result) });
      });
    } catch (error) {
      const result = JSON.stringify({ error: (error as Error).message });
      await scopesDisabled(() => this.db('jobs').where({ id: job.id }).update({ status: 'failed', result }));
    }
  }

  /** Polls for work until the returned function is called. */
  start(intervalMs = 500): () => void {
    const timer = setInterval(() => {
      this.drain().catch((error) => console.error('job worker:', error));
    }, intervalMs);
    return () => clearInterval(timer);
  }
}
