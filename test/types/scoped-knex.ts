// Compile-time checks of the scoped Knex API (dimensions declared in dimensions.ts).
import { defineScopes } from '@knex-scopes/core';
import knex from 'knex';

const scopes = defineScopes({
  tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id', user: 'user_id' } },
});
const db = scopes.wrap(knex({ client: 'pg' }));
db('pages').withScope({ tenant: 1 }).where('id', 1);
db('pages').withScope({ tenant: [1, 2], user: 'u' });
db('pages').withScopesDisabled();

// @ts-expect-error a misspelt dimension in a table declaration
defineScopes({ tables: { pages: { tenat: 'tenant_id' } } });
// @ts-expect-error a misspelt dimension in withScope()
db('pages').withScope({ tenat: 1 });
// @ts-expect-error the tenant key is a number in this app
db('pages').withScope({ tenant: 'acme' });
// @ts-expect-error a declaration is a column or a path string
defineScopes({ tables: { pages: { tenant: 42 } } });
// @ts-expect-error the mode is enforce or report
defineScopes({ tables: {}, mode: 'warn' });

// The RLS bridge (PostgreSQL): typed option, the generator and the migration helper.
const bridged = defineScopes({
  tables: { pages: { tenant: 'tenant_id' } },
  rls: { setting: 'knex_scopes.scope', citus: false, types: { tenant: 'uuid' } },
});
const policySql: string[] = bridged.rlsPolicySql({ schema: 'app', types: { 'pages.tenant_id': 'integer' } });
const migration: { up(k: typeof db): Promise<void>; down(k: typeof db): Promise<void> } = bridged.rlsMigration();
const setting: string | undefined = bridged.rls?.setting;
void [policySql, migration, setting];
// @ts-expect-error the setting is a string
defineScopes({ tables: {}, rls: { setting: 1 } });
// @ts-expect-error citus is a boolean
defineScopes({ tables: {}, rls: { setting: 'a.b', citus: 'yes' } });
