// `npm start` (at the repository root) or `npm start -w examples/express`.
import { dirname, join } from 'node:path';
import { listenHttp, main } from 'knex-scopes-example-shared';
import { createApp } from './app';

main({
  framework: 'Express 5',
  // Next to this app's folder; from argv rather than __dirname, so it runs as an ES module too.
  dataFile: join(dirname(process.argv[1] ?? '.'), '..', 'data', 'example.sqlite3'),
  listen: (ctx, port, host) => listenHttp(createApp(ctx), port, host),
});
