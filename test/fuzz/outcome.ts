// What one run of a query gave: rows, a refusal (a ScopeError, by code), or a database error.
import { isScopeError } from '@knex-scopes/core';

export type Outcome =
  | { readonly kind: 'ok'; readonly rows: Record<string, unknown>[] }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export async function settle(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    const result = await run();
    const rows = Array.isArray(result) ? (result as unknown[]) : [];
    // an insert answers ids (rowids, which differ between databases), not rows: counted only
    return {
      kind: 'ok',
      rows: rows.map((r) => (r !== null && typeof r === 'object' ? r : {})) as Record<string, unknown>[],
    };
  } catch (error) {
    if (isScopeError(error)) return { kind: 'refused', code: error.code, message: error.message };
    const e = error as { code?: unknown; message?: string };
    return { kind: 'error', code: String(e.code ?? 'ERROR'), message: String(e.message ?? error).split('\n')[0]! };
  }
}

export const show = (o: Outcome) =>
  o.kind === 'ok' ? `${o.rows.length} row(s)` : `${o.kind} ${o.code}: ${o.message.slice(0, 300)}`;
