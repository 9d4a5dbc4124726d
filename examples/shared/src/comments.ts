// Comments: two hops from the tenant (task → project → organization).
import type { Knex } from 'knex';
import { type Body, fields, id, text } from './input.js';
import { insertRow } from './insert-row.js';
import type { User } from './sessions.js';
import { getTask } from './tasks.js';

export interface Comment {
  readonly id: number;
  readonly task_id: number;
  readonly body: string;
  readonly author: string | null;
}

const asComment = (row: { id: unknown; task_id: unknown; body: string; author: string | null }): Comment => ({
  id: Number(row.id),
  task_id: Number(row.task_id),
  body: row.body,
  author: row.author ?? null,
});

function select(db: Knex) {
  // `users` is scoped too: its filter goes into the ON clause, so the LEFT JOIN stays a left join.
  return db('comments')
    .leftJoin('users', 'users.id', 'comments.author_id')
    .select('comments.id', 'comments.task_id', 'comments.body', 'users.name as author');
}

export async function listComments(db: Knex, taskId: unknown): Promise<Comment[]> {
  const task = await getTask(db, taskId);
  return (await select(db).where('comments.task_id', task.id).orderBy('comments.id')).map(asComment);
}

/**
 * The form-like endpoint: `task_id` is whatever the browser posted. The write guard verifies it
 * through both hops before the INSERT; the app does not check it itself.
 */
export async function addComment(db: Knex, form: Body, author: User | undefined): Promise<Comment> {
  const { task_id, body } = fields(form);
  const row = { task_id: id(task_id, 'task_id'), body: text(body, 'body', 2000), author_id: author?.id };
  const commentId = await insertRow(db, 'comments', row);
  return asComment(await select(db).where('comments.id', commentId).first());
}
