// INSERT one row and get its id on every dialect: MySQL has no RETURNING, it answers the id.
import type { Knex } from 'knex';

export async function insertRow(db: Knex, table: string, row: Record<string, unknown>): Promise<number> {
  const query = db(table).insert(row);
  const [first] = db.client.dialect === 'mysql' ? await query : await query.returning('id');
  return Number(typeof first === 'object' && first !== null ? (first as { id: unknown }).id : first);
}
