import { knexScopes } from '@knex-scopes/fastify';
import Fastify from 'fastify';
import { resolveTenant } from './tenant';

export async function main() {
  const app = Fastify();
  await app.register(knexScopes, { resolveTenant, exempt: (req) => req.url === '/health' });
  await app.register(knexScopes, {
    resolveTenant,
    onRejected: (rejection, _req, reply) => reply.code(rejection.status).send(),
  });
  // @ts-expect-error resolveTenant is required
  await app.register(knexScopes, {});
  // @ts-expect-error resolveTenant is required
  await app.register(knexScopes);
  // @ts-expect-error statuses are numbers
  await app.register(knexScopes, { resolveTenant, statuses: { missing: '400' } });

  app.get('/signup', { config: { knexScopes: { exempt: true } } }, async () => 'ok');
  // @ts-expect-error exempt is a boolean
  app.get('/bad', { config: { knexScopes: { exempt: 'yes' } } }, async () => 'ok');
  app.get('/', async (request) => {
    const slug: string | undefined = request.tenant?.slug;
    // @ts-expect-error request.tenant is typed by TenantTypes
    request.tenant?.name;
    return slug;
  });
}
