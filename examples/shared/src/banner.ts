// What `npm start` prints: where the app listens and the requests that show isolation. The test
// of each example runs these very requests and checks the statuses announced here.
import type { Knex } from 'knex';

export interface Demo {
  readonly say: string;
  readonly method: 'GET' | 'POST';
  /** Host name the request goes to (`acme.localhost`, `localhost`). */
  readonly host: string;
  readonly path: string;
  readonly form?: Readonly<Record<string, string>>;
  readonly status: number;
}

/** Ids the demo requests need, read with the unscoped instance. */
export async function demoIds(base: Knex): Promise<{ acmeProject: number; acmeTask: number; globexTask: number }> {
  const firstTask = (slug: string) =>
    base('tasks')
      .join('projects', 'projects.id', 'tasks.project_id')
      .join('organizations', 'organizations.id', 'projects.organization_id')
      .where('organizations.slug', slug)
      .orderBy('tasks.id')
      .first('tasks.id as task', 'projects.id as project');
  const acme = await firstTask('acme');
  const globex = await firstTask('globex');
  return { acmeProject: Number(acme.project), acmeTask: Number(acme.task), globexTask: Number(globex.task) };
}

export function demos(ids: Awaited<ReturnType<typeof demoIds>>): Demo[] {
  return [
    {
      say: "acme's projects, and only acme's:",
      method: 'GET',
      host: 'acme.localhost',
      path: '/api/projects',
      status: 200,
    },
    {
      say: "globex's, from the same code:",
      method: 'GET',
      host: 'globex.localhost',
      path: '/api/projects',
      status: 200,
    },
    {
      say: 'No tenant in the request: 400, and no query ran:',
      method: 'GET',
      host: 'localhost',
      path: '/api/projects',
      status: 400,
    },
    {
      say: 'The tenant from the path instead of the subdomain:',
      method: 'GET',
      host: 'localhost',
      path: '/t/globex/api/projects',
      status: 200,
    },
    {
      say: `A form posting globex's task ${ids.globexTask} to acme: refused by the write guard (422):`,
      method: 'POST',
      host: 'acme.localhost',
      path: '/api/comments',
      form: { task_id: String(ids.globexTask), body: 'hello' },
      status: 422,
    },
    {
      say: `The same form with acme's own task ${ids.acmeTask}: created (201):`,
      method: 'POST',
      host: 'acme.localhost',
      path: '/api/comments',
      form: { task_id: String(ids.acmeTask), body: 'hello' },
      status: 201,
    },
    {
      say: 'A background job, run later in the scope it was queued in (then GET the url it answers):',
      method: 'POST',
      host: 'acme.localhost',
      path: `/api/projects/${ids.acmeProject}/summary`,
      status: 202,
    },
    { say: 'The health check runs without a tenant:', method: 'GET', host: 'localhost', path: '/health', status: 200 },
  ];
}

export function curlLine(demo: Demo, port: number): string {
  const method = demo.method === 'POST' ? ' -X POST' : '';
  const form = Object.entries(demo.form ?? {})
    .map(([k, v]) => ` -d ${k}=${v}`)
    .join('');
  return `curl -i${method} http://${demo.host}:${port}${demo.path}${form}`;
}

export function banner(info: { framework: string; port: number; database: string; seeded: boolean; demos: Demo[] }) {
  const { port } = info;
  const lines = [
    '',
    `knex-scopes example: ${info.framework}, on ${info.database}${info.seeded ? ', created and seeded just now' : ''}.`,
    `Listening on http://localhost:${port}. Two organizations, acme and globex, share every table.`,
    '',
    ...info.demos.flatMap((demo) => [`  # ${demo.say}`, `  ${curlLine(demo, port)}`]),
    '',
    '  # If your curl does not resolve *.localhost, name the host in a header:',
    `  curl -i -H 'Host: acme.localhost:${port}' http://127.0.0.1:${port}/api/projects`,
    '',
    'Every route: examples/README.md. The guide: docs/index.md. Ctrl-C stops the server.',
    '',
  ];
  return lines.join('\n');
}
