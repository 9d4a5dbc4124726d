// `npm run example:koa` (at the repository root) or `npm start -w examples/koa`.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { main } from 'knex-scopes-example-shared';
import { createApp } from './app';

main({
  framework: 'Koa 3',
  dataFile: join(__dirname, '..', 'data', 'example.sqlite3'),
  listen: (ctx, port, host) =>
    new Promise((resolve, reject) => {
      const server = createApp(ctx).listen(port, host, () => resolve((server.address() as AddressInfo).port));
      server.once('error', reject);
    }),
});
