// The refusals the rewrite raises, and the one rule for raws: what each says, with its fields.
import { ScopeError } from '../errors';
import type { CompileRun } from './compile-run';
import type { RawFinding } from './raw/check-raw';

export function missingScope(table: string, dimensions: string[]): ScopeError {
  const dims = dimensions.join(', ');
  return new ScopeError(
    'SCOPE_MISSING',
    `A scope on dimension(s) ${dims} needs to be active for this query. ` +
      `It touches the scoped table "${table}": run it inside scope({ ${dimensions.map((d) => `${d}: …`).join(', ')} }, fn), ` +
      'or lift protection explicitly with scopesDisabled(fn).',
    { dimensions, table },
  );
}

export function enforcing(run: CompileRun): boolean {
  const state = run.state();
  return !state || state.enabled;
}

export function refuseRawFindings(run: CompileRun, findings: RawFinding[]): void {
  for (const f of findings) {
    const table = f.table?.table;
    if (f.trusted) {
      run.trustedRaw = true;
      if (table !== undefined) run.bypass('trusted-raw', table);
      continue;
    }
    if (!enforcing(run)) {
      if (table !== undefined) run.bypass('scopes-disabled', table);
      continue;
    }
    const hatch = 'Write it with the query builder, or, if it is safe, mark this one raw with trustRaw(db.raw(…)).';
    run.refuse(
      table !== undefined
        ? new ScopeError(
            'RAW_SQL_REFUSED',
            `Raw SQL names the scoped table "${table}", and raw SQL cannot be filtered: "${f.text}". ${hatch}`,
            { table, sql: f.text },
          )
        : new ScopeError(
            'RAW_SQL_REFUSED',
            `Raw SQL refused: it contains ${f.problem ?? 'something that cannot be read'}: "${f.text}". ${hatch}`,
            { sql: f.text },
          ),
    );
  }
}

export function unsupported(table: string, what: string): ScopeError {
  return new ScopeError(
    'UNSUPPORTED_QUERY',
    `${what} on the scoped table "${table}" is refused while scopes are enforced.`,
    {
      table,
    },
  );
}

/** `value`: what was written, when the message names it. */
export function crossScope(
  table: string,
  column: string,
  dimension: string,
  message: string,
  ...value: [unknown?]
): ScopeError {
  return new ScopeError('CROSS_SCOPE_WRITE', `Write to "${table}" refused: ${message}`, {
    table,
    column,
    dimensions: [dimension],
    ...(value.length > 0 ? { value: value[0] } : {}),
  });
}
