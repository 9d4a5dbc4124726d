import { createApp } from '../../examples/fastify/src/app';
import { exampleSuite } from './example-suite';

exampleSuite('fastify', async (ctx) => {
  const app = await createApp(ctx);
  await app.ready();
  return { target: app.server, close: () => app.close() };
});
