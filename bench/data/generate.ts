// Fills the issue-26 dataset (bench/data/schema.ts) fast and reproducibly, on PostgreSQL
// (INSERT … SELECT FROM generate_series) or MariaDB (INSERT … SELECT FROM the seq_1_to_N
// tables of the Sequence engine). `rows` is the size of the deepest table (comments); tasks
// get rows / 5, projects rows / 100 (at least one per tenant).
//
// Skew: every tenant owns one project; the other projects go to tenants drawn from a Zipf law
// (exponent 1.1) with a seeded PRNG, so tenant 1 is the biggest and a few tenants own most rows.
// Tasks and comments are spread evenly over projects and tasks by a multiplicative hash of
// their id, the same on both dialects: both databases hold the same rows.
import type { Knex } from 'knex';
import { createIndexes, createTables } from './schema';

export interface DatasetOptions {
  readonly rows: number;
  readonly tenants: number;
  readonly seed: number;
}

export interface Dataset {
  readonly counts: { organizations: number; projects: number; tasks: number; comments: number };
  /** Comments per tenant, tenant 1 first, and the tenants the bench reads as. */
  readonly big: { tenant: number; comments: number };
  readonly small: { tenant: number; comments: number };
  /** Share of the comments owned by the 10 biggest tenants. */
  readonly top10Share: number;
  readonly ms: { load: number; indexes: number; analyze: number };
}

/** mulberry32: a small seeded PRNG, enough for reproducible data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zipfOwners(projects: number, tenants: number, seed: number, exponent = 1.1): number[] {
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k <= tenants; k++) {
    total += 1 / k ** exponent;
    cumulative.push(total);
  }
  const random = prng(seed);
  const owners: number[] = [];
  for (let p = 1; p <= projects; p++) {
    if (p <= tenants) {
      owners.push(p);
      continue;
    }
    const u = random() * total;
    let lo = 0;
    let hi = tenants - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    owners.push(lo + 1);
  }
  return owners;
}

export async function generate(base: Knex, dialect: 'pg' | 'mysql', options: DatasetOptions): Promise<Dataset> {
  const { tenants, seed } = options;
  const comments = Math.max(1000, Math.round(options.rows));
  const tasks = Math.max(200, Math.round(comments / 5));
  const projects = Math.max(tenants, Math.round(comments / 100));
  const started = Date.now();
  await createTables(base);

  const chunk = 2000;
  const orgs = Array.from({ length: tenants }, (_, i) => ({ id: i + 1, name: `org ${i + 1}` }));
  for (let i = 0; i < orgs.length; i += chunk) await base('organizations').insert(orgs.slice(i, i + chunk));
  const owners = zipfOwners(projects, tenants, seed);
  const projectRows = owners.map((organization_id, i) => ({ id: i + 1, organization_id, name: `project ${i + 1}` }));
  for (let i = 0; i < projectRows.length; i += chunk) await base('projects').insert(projectRows.slice(i, i + chunk));

  // Multiplicative hashes (odd 32-bit primes times the id, mod the parent count): an even,
  // deterministic spread; bigint arithmetic on both servers.
  const s = seed % 1_000_003;
  if (dialect === 'pg') {
    await base.raw(
      `insert into tasks (id, project_id, status, title)
       select i, 1 + ((i::bigint * 2654435761 + ?) % ?), (i % 3)::smallint, 'task ' || i
       from generate_series(1, ?) as i`,
      [s, projects, tasks],
    );
    await base.raw(
      `insert into comments (id, task_id, body)
       select i, 1 + ((i::bigint * 2246822519 + ?) % ?), 'comment ' || i || ' lorem ipsum dolor sit amet'
       from generate_series(1, ?) as i`,
      [s, tasks, comments],
    );
  } else {
    await base.raw(
      `insert into tasks (id, project_id, status, title)
       select seq, 1 + ((seq * 2654435761 + ?) % ?), seq % 3, concat('task ', seq)
       from seq_1_to_${tasks}`,
      [s, projects],
    );
    await base.raw(
      `insert into comments (id, task_id, body)
       select seq, 1 + ((seq * 2246822519 + ?) % ?), concat('comment ', seq, ' lorem ipsum dolor sit amet')
       from seq_1_to_${comments}`,
      [s, tasks],
    );
  }
  const loaded = Date.now();
  await createIndexes(base);
  const indexed = Date.now();
  if (dialect === 'pg') await base.raw('vacuum analyze');
  else await base.raw('analyze table organizations, projects, tasks, comments');
  const analyzed = Date.now();

  const perTenant = (await base('comments as c')
    .join('tasks as t', 't.id', 'c.task_id')
    .join('projects as p', 'p.id', 't.project_id')
    .groupBy('p.organization_id')
    .select({ tenant: 'p.organization_id' })
    .count({ n: '*' })
    .orderBy([{ column: 'n', order: 'desc' }, { column: 'p.organization_id' }])) as unknown as Array<{
    tenant: number | string;
    n: number | string;
  }>;
  const sizes = perTenant.map((r) => ({ tenant: Number(r.tenant), comments: Number(r.n) }));
  const top10 = sizes.slice(0, 10).reduce((sum, r) => sum + r.comments, 0);
  return {
    counts: { organizations: tenants, projects, tasks, comments },
    big: sizes[0] as Dataset['big'],
    // the smallest tenant that still has comments (every tenant has a project; a tiny one may have none)
    small: [...sizes].reverse().find((r) => r.comments > 0) as Dataset['small'],
    top10Share: top10 / comments,
    ms: { load: loaded - started, indexes: indexed - loaded, analyze: analyzed - indexed },
  };
}
