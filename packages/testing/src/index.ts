// @knex-scopes/testing: filled in by issue 22 item 6.
export {};
