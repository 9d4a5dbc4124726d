// Consumer side: run each job in the scope it was queued with, or refuse it.
import { isScopeError, runInScope, ScopeError, type ScopeSnapshot } from '@knex-scopes/core';
import { UnrecoverableError } from 'bullmq';
import { SCOPE_KEY, validSnapshot } from './snapshot';

/** The part of a job (a Job, or a sandboxed processor's SandboxedJob) this module reads. */
export interface JobLike {
  readonly data?: unknown;
  readonly id?: string | undefined;
  readonly name?: string;
  readonly queueName?: string;
}

/**
 * How a job without a valid snapshot fails: BullMQ's UnrecoverableError (so it is not retried:
 * another attempt would be refused the same way), message starting with the code, the
 * ScopeError as `cause`. Its name stays 'UnrecoverableError', which is what BullMQ checks for
 * errors coming back from a sandboxed processor.
 */
export type JobScopeRefusal = UnrecoverableError & { readonly code: 'INVALID_SNAPSHOT'; readonly cause: ScopeError };

function jobLabel(job: JobLike): string {
  const queue = job.queueName === undefined ? '' : ` of queue "${job.queueName}"`;
  return `job ${job.id ?? '(no id)'}${job.name === undefined ? '' : ` "${job.name}"`}${queue}`;
}

function refusal(job: JobLike, why: string, cause: ScopeError): JobScopeRefusal {
  const error = new UnrecoverableError(
    `INVALID_SNAPSHOT: ${jobLabel(job)} ${why}; refused, not retried. Queue it inside its scope with ` +
      `scopedQueue(queue).add(), queue.add(name, scopedJobData(data)) or scopedFlow(flow) ` +
      `(@knex-scopes/bullmq), and keep job.data.${SCOPE_KEY} when calling job.updateData().`,
  );
  // Own, enumerable `code`: it survives the trip back from a sandboxed processor.
  Object.assign(error, { code: 'INVALID_SNAPSHOT' as const });
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
  return error as JobScopeRefusal;
}

/** The job's own snapshot, or throws its refusal. Never looks at the scope in force. */
function snapshotOf(job: JobLike): ScopeSnapshot {
  const data = job.data;
  const raw = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[SCOPE_KEY] : undefined;
  if (raw === undefined) {
    const cause = new ScopeError('INVALID_SNAPSHOT', `The job has no scope snapshot in job.data.${SCOPE_KEY}.`, {
      value: raw,
    });
    throw refusal(job, `carries no scope snapshot (job.data.${SCOPE_KEY} is missing)`, cause);
  }
  try {
    return validSnapshot(raw);
  } catch (error) {
    if (!isScopeError(error, 'INVALID_SNAPSHOT')) throw error;
    throw refusal(job, `has an invalid job.data.${SCOPE_KEY} (${error.message})`, error);
  }
}

/**
 * Wraps a BullMQ processor so that each job runs in exactly the scope stored in its data,
 * replacing whatever scope is in force in the worker (a Worker constructed inside a scope would
 * otherwise lend that scope to every job). A job without a valid snapshot is refused: its
 * processor is not called and the job fails with a JobScopeRefusal, without retries.
 * Works for in-process workers and as the export of a sandboxed processor file.
 */
export function scopedProcessor<J extends JobLike, R>(
  fn: (job: J, token?: string, signal?: AbortSignal) => R,
): (job: J, token?: string, signal?: AbortSignal) => Promise<Awaited<R>> {
  const run = (job: J, token: string | undefined, signal: AbortSignal | undefined): Promise<Awaited<R>> => {
    try {
      const snapshot = snapshotOf(job);
      return Promise.resolve(runInScope(snapshot, () => fn(job, token, signal)) as R);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  // BullMQ creates the job's AbortSignal only for processors declaring a third parameter.
  if (fn.length >= 3) return (job, token, signal) => run(job, token, signal);
  return (job, token) => run(job, token, undefined);
}
