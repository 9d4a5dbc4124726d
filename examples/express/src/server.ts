// `npm start` (at the repository root) or `npm start -w examples/express`.
import { join } from 'node:path';
import { listenHttp, main } from 'knex-scopes-example-shared';
import { createApp } from './app';

main({
  framework: 'Express 5',
  dataFile: join(__dirname, '..', 'data', 'example.sqlite3'),
  listen: (ctx, port, host) => listenHttp(createApp(ctx), port, host),
});
