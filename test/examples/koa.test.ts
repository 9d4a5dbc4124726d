import { createApp } from '../../examples/koa/src/app';
import { exampleSuite } from './example-suite';

exampleSuite('koa', async (ctx) => ({ target: createApp(ctx).callback(), close: async () => {} }));
