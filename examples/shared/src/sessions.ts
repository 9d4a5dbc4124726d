// Users log in to their organization; a session token is only valid there.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { unauthorized } from './http-errors.js';
import { type Body, fields, text } from './input.js';

export interface User {
  readonly id: number;
  readonly email: string;
  readonly name: string;
}

const asUser = (row: { id: unknown; email: string; name: string }): User => ({
  id: Number(row.id),
  email: row.email,
  name: row.name,
});

/** A demo login (no password): finds the user in THIS organization and opens a session. */
export async function login(db: Knex, body: Body): Promise<{ token: string; user: User }> {
  const user = await db('users')
    .where({ email: text(fields(body).email, 'email') })
    .first('id', 'email', 'name');
  if (!user) throw unauthorized(); // bob@globex.test cannot log in to acme
  const token = randomBytes(24).toString('base64url');
  await db('sessions').insert({ user_id: user.id, token });
  return { token, user: asUser(user) };
}

/**
 * The user behind `Authorization: Bearer <token>`, `undefined` when the header is absent. A
 * token of another organization finds no session here: 401, not that organization's user.
 */
export async function sessionUser(db: Knex, authorization: string | undefined): Promise<User | undefined> {
  if (authorization === undefined) return undefined;
  const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
  if (!token) throw unauthorized();
  const row = await db('sessions')
    .join('users', 'users.id', 'sessions.user_id')
    .where('sessions.token', token)
    .first('users.id', 'users.email', 'users.name');
  if (!row) throw unauthorized();
  return asUser(row);
}

export async function requireUser(db: Knex, authorization: string | undefined): Promise<User> {
  const user = await sessionUser(db, authorization);
  if (!user) throw unauthorized();
  return user;
}
