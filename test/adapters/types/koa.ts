import { scopingMiddleware } from '@knex-scopes/koa';
import Koa from 'koa';
import { resolveTenant } from './tenant';

const app = new Koa();
app.use(scopingMiddleware(resolveTenant, { exempt: (ctx) => ctx.path === '/health' }));
app.use(
  scopingMiddleware(resolveTenant, {
    onRejected: (rejection, ctx) => {
      ctx.status = rejection.status;
    },
  }),
);
// @ts-expect-error a tenant resolver is required
scopingMiddleware();
app.use((ctx) => {
  const slug: string | undefined = ctx.state.tenant?.slug;
  // @ts-expect-error ctx.state.tenant is typed by TenantTypes
  ctx.state.tenant?.name;
  ctx.body = slug;
});
