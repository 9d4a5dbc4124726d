// PostgreSQL with the RLS bridge on: the database must filter the scoped tables too, for the
// role the app connects as (the doctor connects as that role).
import type { TablePolicy } from '@knex-scopes/core';
import type { Declaration, RlsOption } from './declaration';
import { type Finding, finding } from './findings';
import type { PgSecurity } from './introspect-pg-rls';
import { findColumn, findTable, type LiveSchema, type LiveTable, same } from './live-schema';
import { quote } from './sql-text';

export function checkRls(live: LiveSchema, declaration: Declaration, security: PgSecurity): Finding[] {
  const rls = declaration.rls;
  if (!rls || live.dialect !== 'pg') return [];
  const q = (n: string) => quote('pg', n);
  const findings: Finding[] = [];
  const owned: string[] = [];
  for (const policy of declaration.policies) {
    const table = findTable(live, policy.table);
    const flags = security.tables.find((t) => same(t.table, policy.table));
    if (!table || !flags) continue;
    if (flags.ownedByRole) owned.push(table.name);
    if (!flags.enabled) {
      findings.push(
        finding('RLS_NOT_ENABLED', {
          table: table.name,
          message: `Row-level security is not enabled on "${table.name}".`,
          why:
            'With the RLS bridge on, the database is the second net under knex-scopes (raw SQL, other clients, ' +
            'an unwrapped Knex). With row-level security off it filters nothing.',
          fix: `ALTER TABLE ${q(table.name)} ENABLE ROW LEVEL SECURITY;\nALTER TABLE ${q(table.name)} FORCE ROW LEVEL SECURITY;`,
        }),
      );
    } else if (!flags.forced) {
      findings.push(
        finding('RLS_NOT_FORCED', {
          table: table.name,
          message: `Row-level security is enabled on "${table.name}" but not forced.`,
          why: `Its owner ("${flags.owner}") bypasses unforced policies, and apps often connect as the role that ran the migrations.`,
          fix: `ALTER TABLE ${q(table.name)} FORCE ROW LEVEL SECURITY;`,
        }),
      );
    }
    const policies = security.policies.filter((p) => same(p.table, table.name));
    if (!policies.some((p) => filtersOwner(`${p.using ?? ''} ${p.withCheck ?? ''}`, policy, rls))) {
      findings.push(noPolicy(live, declaration, table, policy, rls, policies.length));
    }
  }
  findings.push(...roleFindings(live, security, owned));
  return findings;
}

/**
 * A policy filters by owner when it reads the setting, or, on a table reached through a path,
 * when it reads the parent (whose own policy filters it). Without a known setting, any policy does.
 */
function filtersOwner(expression: string, policy: TablePolicy, rls: RlsOption): boolean {
  if (!rls.setting) return true;
  if (expression.includes(rls.setting)) return true;
  const parents = policy.rules.flatMap((r) => (r.kind === 'path' ? [r.parentTable] : []));
  // Names are plain identifiers (core checks them); `$` is the one character to escape.
  return parents.some((parent) => new RegExp(`\\b${parent.replaceAll('$', '\\$')}\\b`, 'i').test(expression));
}

/**
 * The generator's statements for one table: the helper function (on one line: fixes are applied
 * line by line) and the table's policy, with its key columns cast to their live types.
 */
function generatedPolicy(
  live: LiveSchema,
  declaration: Declaration,
  table: LiveTable,
  rls: RlsOption,
): string | undefined {
  if (!rls.policySql) return undefined;
  // the declared key columns' live types (without a length: `character varying`, not `(255)`)
  const types: Record<string, string> = {};
  for (const policy of declaration.policies) {
    const liveTable = findTable(live, policy.table);
    for (const rule of policy.rules) {
      const column = rule.kind === 'direct' && liveTable ? findColumn(liveTable, rule.column) : undefined;
      const type = column?.type.replace(/\([^)]*\)$/, '');
      if (column && type && /^[A-Za-z_][A-Za-z0-9_ .]*$/.test(type)) types[`${policy.table}.${column.name}`] = type;
    }
  }
  let statements: readonly string[];
  try {
    statements = rls.policySql(types);
  } catch {
    return undefined;
  }
  const on = `ON ${quote('pg', table.name)} `;
  const helper = statements.find((s) => /^CREATE OR REPLACE FUNCTION /.test(s));
  const own = statements.filter((s) => /^(DROP|CREATE) POLICY /.test(s) && `${s} `.includes(on));
  if (!helper || own.length === 0) return undefined;
  return [helper.replace(/\s*\n\s*/g, ' '), ...own].map((s) => `${s};`).join('\n');
}

function noPolicy(
  live: LiveSchema,
  declaration: Declaration,
  table: LiveTable,
  policy: TablePolicy,
  rls: RlsOption,
  existing: number,
): Finding {
  const q = (n: string) => quote('pg', n);
  const setting = rls.setting ?? '<setting>';
  const rule = policy.rules.find((r) => r.dimension === 'tenant') ?? policy.rules[0];
  let condition = '<condition>';
  if (rule?.kind === 'direct') {
    const type = findColumn(table, rule.column)?.type ?? 'text';
    condition = `${q(rule.column)} = current_setting('${setting}', true)::${type}`;
  } else if (rule) {
    // The parent's own policy filters the subquery: each hop is filtered by its table's policy.
    condition = `${q(rule.column)} IN (SELECT ${q(rule.parentKey)} FROM ${q(rule.parentTable)})`;
  }
  const name = q(`${table.name}_${rule?.dimension ?? 'tenant'}`);
  return finding('RLS_NO_POLICY', {
    table: table.name,
    message:
      existing === 0
        ? `"${table.name}" has no row-level security policy.`
        : `None of the ${existing} policies of "${table.name}" reads the setting "${setting}"${
            policy.rules.some((r) => r.kind === 'path') ? ' or its parent table' : ''
          }.`,
    why:
      existing === 0
        ? 'With row-level security on and no policy, the table shows no row to the app (default deny); with it off, every row.'
        : 'Its policies do not filter by the tenant the RLS bridge sets, so the database does not keep tenants apart.',
    fix:
      generatedPolicy(live, declaration, table, rls) ??
      `CREATE POLICY ${name} ON ${q(table.name)} USING (${condition}) WITH CHECK (${condition});`,
  });
}

function roleFindings(live: LiveSchema, security: PgSecurity, owned: readonly string[]): Finding[] {
  const q = (n: string) => quote('pg', n);
  const { role } = security;
  const findings: Finding[] = [];
  if (role.superuser || role.bypassRls) {
    const what = role.superuser ? 'a superuser' : 'a role with BYPASSRLS';
    findings.push(
      finding('RLS_ROLE_BYPASSES', {
        table: null,
        message: `The doctor connected as "${role.name}", ${what}: row-level security never applies to it.`,
        why: 'If the app connects as this role, every policy is skipped and the RLS bridge filters nothing.',
        fix: role.superuser
          ? `Connect the app as a role of its own:\nCREATE ROLE app_user LOGIN PASSWORD '…' NOSUPERUSER NOBYPASSRLS;\n` +
            `GRANT USAGE ON SCHEMA ${q(live.schema)} TO app_user;\n` +
            `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${q(live.schema)} TO app_user;\n` +
            `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${q(live.schema)} TO app_user;`
          : `ALTER ROLE ${q(role.name)} NOBYPASSRLS;`,
      }),
    );
  }
  if (owned.length > 0 && !role.superuser) {
    findings.push(
      finding('RLS_ROLE_IS_OWNER', {
        table: null,
        message: `The doctor connected as "${role.name}", which owns (or has the privileges of the owner of) ${owned.map((t) => `"${t}"`).join(', ')}.`,
        why:
          'An owner bypasses policies that are not forced, and can disable row-level security or drop the policies ' +
          'at any time: the app should not run as the role that owns its tables.',
        fix:
          'Run the migrations as one role and the app as another:\n' +
          owned.map((t) => `ALTER TABLE ${q(t)} OWNER TO migrator;`).join('\n'),
      }),
    );
  }
  return findings;
}
