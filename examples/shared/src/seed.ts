// Two organizations, acme and globex, with the same kinds of rows, so a leak would show.
import type { Knex } from 'knex';
import { insertRow } from './insert-row.js';
import { createSchema } from './schema.js';

interface OrganizationSeed {
  readonly slug: string;
  readonly name: string;
  readonly user: { readonly email: string; readonly name: string };
  readonly projects: ReadonlyArray<{ readonly name: string; readonly tasks: readonly string[] }>;
}

export const SEED: readonly OrganizationSeed[] = [
  {
    slug: 'acme',
    name: 'Acme Corporation',
    user: { email: 'alice@acme.test', name: 'Alice' },
    projects: [
      { name: 'Website relaunch', tasks: ['Pick a font', 'Write the copy'] },
      { name: 'Onboarding', tasks: ['Welcome email'] },
    ],
  },
  {
    slug: 'globex',
    name: 'Globex Inc.',
    user: { email: 'bob@globex.test', name: 'Bob' },
    projects: [{ name: 'Secret roadmap', tasks: ['Hire a villain'] }],
  },
];

/** Fills an empty database (unscoped: seeding writes every tenant's rows). */
export async function seed(base: Knex): Promise<void> {
  for (const org of SEED) {
    const organization_id = await insertRow(base, 'organizations', { slug: org.slug, name: org.name });
    const author_id = await insertRow(base, 'users', { organization_id, ...org.user });
    for (const project of org.projects) {
      const project_id = await insertRow(base, 'projects', { organization_id, name: project.name });
      for (const title of project.tasks) {
        const task_id = await insertRow(base, 'tasks', { project_id, title });
        await base('comments').insert({ task_id, author_id, body: `First thoughts on "${title}"` });
      }
    }
  }
}

/** Creates and seeds the database on first start; returns true when it did. */
export async function prepareDatabase(base: Knex): Promise<boolean> {
  if (await base.schema.hasTable('organizations')) return false;
  await createSchema(base);
  await seed(base);
  return true;
}
