// Tasks: scoped through their project (`project_id -> projects.organization_id`).
import type { Knex } from 'knex';
import { notFound } from './http-errors.js';
import { type Body, fields, flag, id, patch, text } from './input.js';
import { insertRow } from './insert-row.js';
import { getProject } from './projects.js';

export interface Task {
  readonly id: number;
  readonly project_id: number;
  readonly title: string;
  readonly done: boolean;
}

const asTask = (row: { id: unknown; project_id: unknown; title: string; done: unknown }): Task => ({
  id: Number(row.id),
  project_id: Number(row.project_id),
  title: row.title,
  done: Boolean(row.done), // 0/1 on SQLite and MySQL
});

export async function listTasks(db: Knex, projectId: unknown): Promise<Task[]> {
  const project = await getProject(db, projectId);
  const rows = await db('tasks').where({ project_id: project.id }).orderBy('id');
  return rows.map(asTask);
}

export async function getTask(db: Knex, taskId: unknown): Promise<Task> {
  const row = await db('tasks')
    .where({ id: id(taskId) })
    .first();
  if (!row) throw notFound('task');
  return asTask(row);
}

/**
 * `project_id` comes from the client. The write guard checks, before the INSERT, that it names a
 * project of this organization: another organization's id is refused with CROSS_SCOPE_WRITE.
 */
export async function createTask(db: Knex, body: Body): Promise<Task> {
  const { project_id, title } = fields(body);
  const row = { project_id: id(project_id, 'project_id'), title: text(title, 'title') };
  return getTask(db, await insertRow(db, 'tasks', row));
}

/** Moving a task to another organization's project is refused the same way. */
export async function updateTask(db: Knex, taskId: unknown, body: Body): Promise<Task> {
  const changes = patch(body, { title: text, done: flag, project_id: id });
  if (
    (await db('tasks')
      .where({ id: id(taskId) })
      .update(changes)) === 0
  )
    throw notFound('task');
  return getTask(db, taskId);
}

export async function deleteTask(db: Knex, taskId: unknown): Promise<void> {
  if (
    (await db('tasks')
      .where({ id: id(taskId) })
      .delete()) === 0
  )
    throw notFound('task');
}
