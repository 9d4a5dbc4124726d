// The example of packages/fastify/README.md (its second half), kept compiling; inside a
// function, as CommonJS has no top-level await.
import { knexScopes } from '@knex-scopes/fastify';
import Fastify from 'fastify';
import { db, resolveTenant } from './readme-example';

export async function readmeFastify() {
  const app = Fastify({ trustProxy: '127.0.0.1' });
  await app.register(knexScopes, { resolveTenant });
  app.get('/pages', async () => db('pages').select());
  app.get('/health', { config: { knexScopes: { exempt: true } } }, async () => 'ok');
  await app.listen({ port: 3000 });
}
