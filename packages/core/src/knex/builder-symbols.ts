// The symbols a scoped builder carries and the client answers to. Ground floor of knex/:
// imports nothing, so every file can name them without an import circle.

/** The scope state a scoped builder was created in. */
export const CREATED: unique symbol = Symbol('knex-scopes.createdIn');
/** The per-query override (`withScope`, `withScopesDisabled`). */
export const OVERRIDE: unique symbol = Symbol('knex-scopes.override');
/** The scoped client's method that runs one top-level compile of a builder. */
export const COMPILE_TOP_LEVEL: unique symbol = Symbol('knex-scopes.compileTopLevel');
/** Marks a builder we create for an FK path or a parent check: its base table enforces only these dimensions. */
export const ONLY_DIMENSIONS: unique symbol = Symbol('knex-scopes.onlyDimensions');
/** Marks a builder we create to hold a user's WHERE group: already walked with its parent. */
export const INTERNAL_WRAPPER: unique symbol = Symbol('knex-scopes.internalWrapper');
/** The policy a scoped client class carries (and a builder reads, for its origin). */
export const POLICY: unique symbol = Symbol.for('knex-scopes.policy');
/** Where a scoped builder was created: the app's call site for events, captured only when someone listens. */
export const ORIGIN: unique symbol = Symbol('knex-scopes.origin');
