// Producer side for Queue: a thin wrapper whose add/addBulk stamp the scope in force. A wrapper
// object, not a patched prototype, so it is explicit at the call site and tied to no BullMQ
// internals.
import { ScopeError, type ScopeSnapshot } from '@knex-scopes/core';
import { snapshotToStamp, stamp } from './job-data';
import type { SCOPE_KEY } from './snapshot';

/** What scopedQueue() needs of a queue: BullMQ's Queue fits, whatever its type parameters. */
export interface QueueLike {
  add(name: never, data: never, opts?: never): Promise<unknown>;
  addBulk(jobs: never): Promise<unknown>;
  upsertJobScheduler(id: never, repeatOpts: never, template?: never): Promise<unknown>;
}

type AddParameters<Q extends QueueLike> = Parameters<Q['add']>;
/** The data one passes to the wrapper: the queue's data type without the reserved key. */
export type UnscopedData<D> = D extends object ? Omit<D, typeof SCOPE_KEY> : D;
type BulkEntry<Q extends QueueLike> = Parameters<Q['addBulk']>[0] extends ReadonlyArray<infer E> ? E : never;
// Exclude, not NonNullable: TypeScript reduces `T & {}` through QueueLike's `never` here.
type SchedulerTemplate<Q extends QueueLike> = Exclude<Parameters<Q['upsertJobScheduler']>[2], undefined>;
type WithData<T, D> = Omit<T, 'data'> & { data?: D };

export interface ScopedQueue<Q extends QueueLike> {
  /** The queue itself, for everything that adds no job (getters, events, close()). */
  readonly queue: Q;
  /** `queue.add()` with the data stamped with the scope in force (none: rejects with SCOPE_MISSING). */
  add(
    name: AddParameters<Q>[0],
    data: UnscopedData<AddParameters<Q>[1]>,
    opts?: AddParameters<Q>[2],
  ): ReturnType<Q['add']>;
  /** `queue.addBulk()`, every job stamped with the scope in force. */
  addBulk(
    jobs: ReadonlyArray<Omit<BulkEntry<Q>, 'data'> & { data: UnscopedData<AddParameters<Q>[1]> }>,
  ): ReturnType<Q['addBulk']>;
  /**
   * `queue.upsertJobScheduler()` with the template's data stamped with `snapshot`. Required:
   * schedulers are set up at boot, outside any request, so whose job it is must be said.
   */
  upsertJobScheduler(
    id: Parameters<Q['upsertJobScheduler']>[0],
    repeatOpts: Parameters<Q['upsertJobScheduler']>[1],
    template: WithData<SchedulerTemplate<Q>, UnscopedData<AddParameters<Q>[1]>>,
    snapshot: ScopeSnapshot,
  ): ReturnType<Q['upsertJobScheduler']>;
}

// How the wrapper calls the queue: the public types above already tie data to the queue's.
interface LooseQueue {
  add(name: unknown, data: object, opts?: unknown): Promise<unknown>;
  addBulk(jobs: ReadonlyArray<{ data?: object }>): Promise<unknown>;
  upsertJobScheduler(id: unknown, repeatOpts: unknown, template?: { data?: object }): Promise<unknown>;
}

/**
 * Wraps a BullMQ Queue so that every job added through it carries the scope in force. Capture
 * happens synchronously in the call, so the scope is the caller's even if the add is awaited later.
 */
export function scopedQueue<Q extends QueueLike>(queue: Q): ScopedQueue<Q> {
  const loose = queue as unknown as LooseQueue;
  // Errors become rejections, like every other failure of add(); nothing reaches Redis.
  const settle = <R>(fn: () => Promise<unknown>): R => {
    try {
      return fn() as R;
    } catch (error) {
      return Promise.reject(error) as R;
    }
  };
  return Object.freeze({
    queue,
    add: (name, data, opts) =>
      settle(() => {
        const snapshot = snapshotToStamp(undefined, 'scopedQueue(queue).add()');
        return loose.add(name, stamp(data as object, snapshot, 'scopedQueue(queue).add()'), opts);
      }),
    addBulk: (jobs) =>
      settle(() => {
        const snapshot = snapshotToStamp(undefined, 'scopedQueue(queue).addBulk()');
        const stamped = jobs.map((job) => ({
          ...job,
          data: stamp(job.data as object, snapshot, 'scopedQueue(queue).addBulk()'),
        }));
        return loose.addBulk(stamped);
      }),
    upsertJobScheduler: (id, repeatOpts, template, snapshot) =>
      settle(() => {
        if (snapshot === undefined) {
          // Never the ambient scope: a scheduler outlives the call that set it up.
          throw new ScopeError(
            'SCOPE_MISSING',
            'scopedQueue(queue).upsertJobScheduler() needs the snapshot its jobs run in as 4th argument, ' +
              'e.g. scope({ tenant: 7 }, captureScope) or, for every tenant, scope({ tenant: ALL }, captureScope).',
          );
        }
        const checked = snapshotToStamp(snapshot, 'scopedQueue(queue).upsertJobScheduler()');
        const data = stamp(template.data as object | undefined, checked, 'scopedQueue(queue).upsertJobScheduler()');
        return loose.upsertJobScheduler(id, repeatOpts, { ...template, data });
      }),
  } satisfies ScopedQueue<Q>);
}
