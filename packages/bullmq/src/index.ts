// @knex-scopes/bullmq: filled in by issue 22 item 5.
export {};
