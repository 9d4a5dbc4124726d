// Mocha global fixtures for the test databases (loaded through `require` in .mocharc.cjs).
// Spec files are loaded before this runs, so the registry knows which dialects suites use:
// those are started once, in parallel, and reported; a required one that is missing or fails
// to start fails the run here, before any test.
// It also collects the SQL scoped instances compile for PostgreSQL, and fails the run at the end
// if a statement of a single-tenant scope is not Citus-router-friendly (test/citus/query-capture.ts).
import { describeReport, finishQueryCapture, type RunnableSource, startQueryCapture } from '../citus/query-capture';
import { dialectStatuses, startUsedDialects, statusLines, stopAll } from './db-registry';

// mocha calls the global setup with its runner as `this` (mocha run; not in watch mode).
export async function mochaGlobalSetup(this: RunnableSource | undefined): Promise<void> {
  await startQueryCapture(this);
  await startUsedDialects();
  for (const line of statusLines()) console.log(line);
  const broken = dialectStatuses().filter(
    (status) => status.required && (status.state === 'missing' || status.state === 'failed'),
  );
  if (broken.length > 0) {
    await stopAll();
    const names = broken.map((status) => `${status.dialect}: ${status.detail}`).join('; ');
    throw new Error(`required database dialect(s) unavailable (KNEX_SCOPES_REQUIRE_DIALECTS or CI): ${names}`);
  }
}

export const mochaHooks = {
  // The root suite's last hook: after every suite's own after(), before the reporter's totals.
  afterAll(): void {
    for (const line of statusLines(true)) console.log(line);
    const report = finishQueryCapture();
    if (!report) return;
    const lines = describeReport(report);
    if (report.failures.length > 0) throw new Error(lines.join('\n'));
    console.log(lines[0]);
  },
};

export async function mochaGlobalTeardown(): Promise<void> {
  await stopAll();
}
