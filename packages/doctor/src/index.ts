// @knex-scopes/doctor: the declaration of @knex-scopes/core checked against the live database.
export type { DoctorConfig } from './config';
export { defineDoctorConfig } from './config';
export type { RlsOption } from './declaration';
export type { DoctorErrorCode } from './doctor-error';
export { DoctorError } from './doctor-error';
export type { ErrorCode, Finding, FindingCode, Level, WarningCode } from './findings';
export { ERROR_CODES, WARNING_CODES } from './findings';
export type { Dialect } from './live-schema';
export { loadConfig } from './load-config';
export { formatHuman } from './report-human';
export { formatJson } from './report-json';
export type { DoctorOptions, DoctorReport } from './run-doctor';
export { runDoctor } from './run-doctor';
