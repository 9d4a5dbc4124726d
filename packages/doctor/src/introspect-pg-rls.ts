// PostgreSQL row-level security as the connected role meets it: the role's attributes, each
// table's RLS flags and owner, and the policies.
import type { Knex } from 'knex';
import { pgQuery } from './introspect-pg';
import { flag, optionalText, text } from './rows';

export interface PgRole {
  readonly name: string;
  readonly superuser: boolean;
  readonly bypassRls: boolean;
}

export interface PgTableSecurity {
  readonly table: string;
  readonly enabled: boolean;
  readonly forced: boolean;
  readonly owner: string;
  /** The connected role owns the table, or inherits its owner's privileges (so bypasses unforced RLS). */
  readonly ownedByRole: boolean;
}

export interface PgPolicy {
  readonly table: string;
  readonly name: string;
  /** USING and WITH CHECK, as PostgreSQL prints them. */
  readonly using: string | null;
  readonly withCheck: string | null;
}

export interface PgSecurity {
  readonly role: PgRole;
  readonly tables: readonly PgTableSecurity[];
  readonly policies: readonly PgPolicy[];
}

export async function introspectPgSecurity(knex: Knex, schema: string): Promise<PgSecurity> {
  const [role] = await pgQuery(
    knex,
    'select rolname as name, rolsuper as superuser, rolbypassrls as bypass from pg_roles where rolname = current_user',
  );
  if (!role) throw new Error('the connected role is not in pg_roles');
  const tables = await pgQuery(
    knex,
    `select c.relname as tbl, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
      pg_get_userbyid(c.relowner) as owner, pg_has_role(current_user, c.relowner, 'USAGE') as owned
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ? and c.relkind in ('r', 'p') and not c.relispartition`,
    [schema],
  );
  const policies = await pgQuery(
    knex,
    'select tablename as tbl, policyname as name, qual, with_check from pg_policies where schemaname = ?',
    [schema],
  );
  return {
    role: { name: text(role, 'name'), superuser: flag(role, 'superuser'), bypassRls: flag(role, 'bypass') },
    tables: tables.map((r) => ({
      table: text(r, 'tbl'),
      enabled: flag(r, 'enabled'),
      forced: flag(r, 'forced'),
      owner: text(r, 'owner'),
      ownedByRole: flag(r, 'owned'),
    })),
    policies: policies.map((r) => ({
      table: text(r, 'tbl'),
      name: text(r, 'name'),
      using: optionalText(r, 'qual'),
      withCheck: optionalText(r, 'with_check'),
    })),
  };
}
