import { createApp } from '../../examples/express/src/app';
import { exampleSuite } from './example-suite';

exampleSuite('express', async (ctx) => ({ target: createApp(ctx), close: async () => {} }));
