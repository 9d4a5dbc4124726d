// `npm run example:koa` (at the repository root) or `npm start -w examples/koa`.
import { join } from 'node:path';
import { listenHttp, main } from 'knex-scopes-example-shared';
import { createApp } from './app';

main({
  framework: 'Koa 3',
  dataFile: join(__dirname, '..', 'data', 'example.sqlite3'),
  listen: (ctx, port, host) => listenHttp(createApp(ctx).callback(), port, host),
});
