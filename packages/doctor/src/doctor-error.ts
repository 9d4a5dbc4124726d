// Why the doctor could not run at all (the CLI's exit code 2), as opposed to what it found.

export type DoctorErrorCode = 'CONFIG' | 'CONNECTION' | 'UNSUPPORTED_DIALECT' | 'INTROSPECTION';

export class DoctorError extends Error {
  override readonly name = 'DoctorError';

  constructor(
    readonly code: DoctorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
