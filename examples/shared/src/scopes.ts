// Which tables belong to a tenant, and how each row reaches its organization. Declared once;
// every query of the wrapped Knex is filtered from this.
import { defineScopes } from '@knex-scopes/core';

export const scopes = defineScopes({
  tables: {
    organizations: { tenant: 'id' },
    users: { tenant: 'organization_id' },
    sessions: { tenant: 'user_id -> users.organization_id' },
    projects: { tenant: 'organization_id' },
    tasks: { tenant: 'project_id -> projects.organization_id' },
    // Two hops: a comment belongs to a task, which belongs to a project, which has the tenant.
    comments: { tenant: 'task_id -> tasks.project_id -> projects.organization_id' },
    jobs: { tenant: 'organization_id' },
  },
});
