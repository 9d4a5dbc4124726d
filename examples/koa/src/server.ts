// `npm run example:koa` (at the repository root) or `npm start -w examples/koa`.
import { dirname, join } from 'node:path';
import { listenHttp, main } from 'knex-scopes-example-shared';
import { createApp } from './app';

main({
  framework: 'Koa 3',
  // Next to this app's folder; from argv rather than __dirname, so it runs as an ES module too.
  dataFile: join(dirname(process.argv[1] ?? '.'), '..', 'data', 'example.sqlite3'),
  listen: (ctx, port, host) => listenHttp(createApp(ctx).callback(), port, host),
});
