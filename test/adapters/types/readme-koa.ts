// The example of packages/koa/README.md (its second half), kept compiling.

import { scopingMiddleware } from '@knex-scopes/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { db, resolveTenant } from './readme-example';

const app = new Koa();
app.use(scopingMiddleware(resolveTenant, { exempt: (ctx) => ctx.path === '/health' }));
app.use(bodyParser());
const router = new Router();
router.get('/pages', async (ctx) => {
  ctx.body = await db('pages').select();
});
router.get('/health', (ctx) => {
  ctx.body = 'ok';
});
app.use(router.routes());
