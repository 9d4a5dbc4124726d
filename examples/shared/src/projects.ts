// Projects of the current organization. Not one query here names the tenant: the scope the
// adapter opened adds `organization_id = ?` to every reference, subqueries included.
import type { Knex } from 'knex';
import { notFound } from './http-errors.js';
import { type Body, fields, id, patch, text } from './input.js';
import { insertRow } from './insert-row.js';

export interface Project {
  readonly id: number;
  readonly name: string;
  readonly task_count: number;
}

const asProject = (row: { id: unknown; name: string; task_count: unknown }): Project => ({
  id: Number(row.id),
  name: row.name,
  task_count: Number(row.task_count),
});

function select(db: Knex) {
  const taskCount = db('tasks').count('*').where('tasks.project_id', db.ref('projects.id')).as('task_count');
  return db('projects').select('projects.id', 'projects.name', taskCount);
}

export async function listProjects(db: Knex): Promise<Project[]> {
  return (await select(db).orderBy('projects.id')).map(asProject);
}

export async function getProject(db: Knex, projectId: unknown): Promise<Project> {
  const row = await select(db).where('projects.id', id(projectId)).first();
  if (!row) throw notFound('project'); // another organization's project is simply not there
  return asProject(row);
}

export async function createProject(db: Knex, body: Body): Promise<Project> {
  // No organization_id: the insert is stamped with the scope's tenant.
  return getProject(db, await insertRow(db, 'projects', { name: text(fields(body).name, 'name') }));
}

export async function updateProject(db: Knex, projectId: unknown, body: Body): Promise<Project> {
  const changes = patch(body, { name: text });
  const updated = await db('projects')
    .where({ id: id(projectId) })
    .update(changes);
  if (updated === 0) throw notFound('project');
  return getProject(db, projectId);
}

export async function deleteProject(db: Knex, projectId: unknown): Promise<void> {
  if (
    (await db('projects')
      .where({ id: id(projectId) })
      .delete()) === 0
  )
    throw notFound('project');
}
