// The current organization: no WHERE clause, yet one row, because `organizations` is scoped by its
// own id.
import type { Knex } from 'knex';
import type { Organization } from './types.js';

export async function currentOrganization(db: Knex): Promise<Organization> {
  const row = await db<Organization>('organizations').first('id', 'slug', 'name');
  return { id: Number(row?.id), slug: String(row?.slug), name: String(row?.name) };
}
