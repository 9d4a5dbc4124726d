// What the BullMQ suites share: a scoped Knex on a SQLite file (a file, so a sandboxed
// processor's child process sees the same rows), connection options, and waiting for a job.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineScopes } from '@knex-scopes/core';
import type { Job, Queue } from 'bullmq';
import knex, { type Knex } from 'knex';
import type { RedisServer } from '../../../test/support/redis';

export const TENANTS = [1, 2, 3, 4, 5] as const;

/** Tenant n owns two projects, "t<n>-a" and "t<n>-b". */
export function projectsOf(tenant: number): string[] {
  return [`t${tenant}-a`, `t${tenant}-b`];
}

export const ALL_PROJECTS = TENANTS.flatMap(projectsOf).sort();

/** The same declaration the sandboxed processor file uses. */
export const scopes = defineScopes({ tables: { projects: { tenant: 'tenant_id' } } });

export interface TenantDb {
  readonly file: string;
  readonly base: Knex;
  readonly db: Knex;
  destroy(): Promise<void>;
}

export async function createTenantDb(): Promise<TenantDb> {
  const dir = mkdtempSync(join(tmpdir(), 'knex-scopes-bullmq-'));
  const file = join(dir, 'tenants.sqlite');
  const base = knex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
  await base.schema.createTable('projects', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable();
    t.string('name').notNullable();
  });
  await base('projects').insert(
    TENANTS.flatMap((tenant) => projectsOf(tenant).map((name) => ({ tenant_id: tenant, name }))),
  );
  return {
    file,
    base,
    db: scopes.wrap(base),
    async destroy() {
      await base.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Why BullMQ cannot talk to Redis here, if it cannot: since bullmq 6.7 ioredis is an optional
 * peer dependency, and BullMQ loads it only when a connection opens.
 */
export function bullmqClientMissing(): string | undefined {
  try {
    createRequire(require.resolve('bullmq'))('ioredis');
    return undefined;
  } catch {
    return 'bullmq cannot load ioredis (an optional peer dependency of bullmq 6.7): npm install -D ioredis';
  }
}

/** Connection options; BullMQ opens and closes the clients itself. Workers need no retry limit. */
export function connectionOf(redis: RedisServer): { host: string; port: number; maxRetriesPerRequest: null } {
  return { host: redis.host, port: redis.port, maxRetriesPerRequest: null };
}

let counter = 0;
/** A queue name no other test uses (the Redis is shared by a suite). */
export function uniqueQueueName(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}

type Finished = 'completed' | 'failed';

/** Polls until the job is completed or failed; returns it freshly read from Redis. */
export async function finished<D, R>(
  queue: Queue,
  id: string | undefined,
  timeoutMs = 10_000,
): Promise<{ state: Finished; job: Job<D, R> }> {
  if (id === undefined) throw new Error('the job has no id');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The state first: a job read before it finished would lack its return value.
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') {
      const job = (await queue.getJob(id)) as Job<D, R> | undefined;
      if (job) return { state, job };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`job ${id} of ${queue.name} did not finish within ${timeoutMs} ms`);
}
