// `npm run example:fastify` (at the repository root) or `npm start -w examples/fastify`.
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { main } from 'knex-scopes-example-shared';
import { createApp } from './app';

main({
  framework: 'Fastify 5',
  // Next to this app's folder; from argv rather than __dirname, so it runs as an ES module too.
  dataFile: join(dirname(process.argv[1] ?? '.'), '..', 'data', 'example.sqlite3'),
  listen: async (ctx, port, host) => {
    const app = await createApp(ctx);
    await app.listen({ port, host });
    return (app.server.address() as AddressInfo).port;
  },
});
