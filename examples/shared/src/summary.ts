// The background job of the example: counts a project's tasks and comments, later, in the
// scope of the request that asked for it.
import type { Knex } from 'knex';
import type { JobQueue } from './jobs.js';
import { getProject } from './projects.js';

export interface ProjectSummary {
  readonly project: string;
  readonly tasks: number;
  readonly done: number;
  readonly comments: number;
}

const count = async (query: Knex.QueryBuilder): Promise<number> => Number((await query.count({ n: '*' }))[0]?.n);

export async function summarizeProject(db: Knex, payload: unknown): Promise<ProjectSummary> {
  const project = await getProject(db, (payload as { projectId?: unknown }).projectId);
  const tasks = db('tasks').where({ project_id: project.id });
  // The join reaches comments and tasks: both are filtered, each by its own path.
  const comments = db('comments').join('tasks', 'tasks.id', 'comments.task_id').where('tasks.project_id', project.id);
  return {
    project: project.name,
    tasks: await count(tasks.clone()),
    done: await count(tasks.clone().where({ done: true })),
    comments: await count(comments),
  };
}

/** Called by the route: checks the project is visible now, then queues the job. */
export async function requestSummary(db: Knex, jobs: JobQueue, projectId: unknown) {
  const project = await getProject(db, projectId);
  const job = await jobs.enqueue('project-summary', { projectId: project.id });
  return { job, status: 'queued', url: `/api/jobs/${job}` };
}
