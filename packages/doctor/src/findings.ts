// What the doctor reports: one finding per problem, saying what, why and how to fix it.

export type Level = 'error' | 'warning';

/** Error-level findings: the declaration and the database disagree (exit code 1). */
export const ERROR_CODES = [
  /** A table with a tenant column, or a foreign key into a scoped table, is not declared. */
  'UNDECLARED_TABLE',
  /** A declared table is not in the database. */
  'MISSING_TABLE',
  /** A declared column (tenant column, path key, parent key) is not in its table. */
  'MISSING_COLUMN',
  /** A path hop's column has no foreign key to the parent's key. */
  'PATH_NO_FOREIGN_KEY',
  /** A path hop's column and the parent's key are of different types. */
  'PATH_TYPE_MISMATCH',
  /** A path hop's parent key is not unique: no primary key or unique index is on it alone. */
  'PATH_KEY_NOT_UNIQUE',
] as const;

/** Warning-level findings: the declaration holds, but the database leaks or is slow. */
export const WARNING_CODES = [
  /** No index leads with the tenant column or path key. */
  'MISSING_INDEX',
  /** A unique constraint or index of a directly scoped table does not include its tenant column. */
  'UNIQUE_WITHOUT_TENANT',
  /** A foreign key between scoped tables does not carry the tenant column. */
  'FOREIGN_KEY_WITHOUT_TENANT',
  /** A table listed as intentionally global is not in the database. */
  'GLOBAL_TABLE_MISSING',
  /** RLS bridge: row-level security is off on a scoped table. */
  'RLS_NOT_ENABLED',
  /** RLS bridge: row-level security is on but not forced, so the table's owner is not filtered. */
  'RLS_NOT_FORCED',
  /** RLS bridge: no policy of the table reads the tenant setting. */
  'RLS_NO_POLICY',
  /** RLS bridge: the app's role is a superuser or has BYPASSRLS. */
  'RLS_ROLE_BYPASSES',
  /** RLS bridge: the app's role owns scoped tables. */
  'RLS_ROLE_IS_OWNER',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
export type WarningCode = (typeof WARNING_CODES)[number];
export type FindingCode = ErrorCode | WarningCode;

export interface Finding {
  readonly code: FindingCode;
  readonly level: Level;
  /** The table the finding is about; `null` for the role (RLS). */
  readonly table: string | null;
  /** The column, when one is at fault. */
  readonly column: string | null;
  /** What is wrong. */
  readonly message: string;
  /** Why it matters. */
  readonly why: string;
  /** How to fix it: SQL or a declaration line where one fits. */
  readonly fix: string;
}

export function levelOf(code: FindingCode): Level {
  return (ERROR_CODES as readonly string[]).includes(code) ? 'error' : 'warning';
}

export function finding(
  code: FindingCode,
  fields: { table: string | null; column?: string | null; message: string; why: string; fix: string },
): Finding {
  const { table, column, message, why, fix } = fields;
  return { code, level: levelOf(code), table, column: column ?? null, message, why, fix };
}

/** Errors first, then by table, code and column, so reports diff cleanly between runs. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const key = (f: Finding) => [f.level === 'error' ? 0 : 1, f.table ?? '', f.code, f.column ?? ''] as const;
  return [...findings].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] as string | number;
      const y = kb[i] as string | number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}
