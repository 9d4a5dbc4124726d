// The report for a person at a terminal or reading a CI log.
import type { Finding } from './findings';
import type { Dialect } from './live-schema';
import type { DoctorReport } from './run-doctor';

const DIALECT_NAMES: Readonly<Record<Dialect, string>> = {
  sqlite: 'SQLite',
  pg: 'PostgreSQL',
  mysql: 'MySQL/MariaDB',
};

export function formatHuman(report: DoctorReport): string {
  const place =
    report.dialect === 'sqlite' ? '' : `, ${report.dialect === 'pg' ? 'schema' : 'database'} "${report.schema}"`;
  const lines = [
    `knex-scopes doctor: ${DIALECT_NAMES[report.dialect]}${place}; ${count(report.declaredTables, 'table')} declared, ` +
      `${report.databaseTables} in the database${report.rlsChecked ? '; row-level security checked' : ''}`,
    '',
  ];
  for (const f of report.findings) lines.push(...formatFinding(f), '');
  if (report.findings.length === 0) lines.push('No findings: the declaration and the database agree.');
  else lines.push(`${count(report.errors, 'error')}, ${count(report.warnings, 'warning')}.`);
  return `${lines.join('\n')}\n`;
}

function formatFinding(f: Finding): string[] {
  const where = f.table ? ` ${f.table}${f.column ? `.${f.column}` : ''}` : '';
  return [
    `${f.level} ${f.code}${where}`,
    ...labelled('  ', '', f.message),
    ...labelled('  ', 'why: ', f.why),
    ...labelled('  ', 'fix: ', f.fix),
  ];
}

/** The label on the first line, the text's other lines aligned under its first. */
function labelled(indent: string, label: string, text: string): string[] {
  const pad = ' '.repeat(label.length);
  return text.split('\n').map((line, i) => `${indent}${i === 0 ? label : pad}${line}`);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
