// The report for tools: the DoctorReport as it is, or why the doctor could not run.
import type { DoctorErrorCode } from './doctor-error';
import type { DoctorReport } from './run-doctor';

export function formatJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function formatJsonFailure(code: DoctorErrorCode | 'INTERNAL', message: string): string {
  return `${JSON.stringify({ error: { code, message } }, null, 2)}\n`;
}
