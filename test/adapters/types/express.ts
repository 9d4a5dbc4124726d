import { fromHeader, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware } from '@knex-scopes/express';
import express from 'express';
import { resolveTenant } from './tenant';

const app = express();
app.use(scopingMiddleware(resolveTenant, { exempt: (req) => req.path === '/health', statuses: { notFound: 410 } }));
app.use(
  scopingMiddleware(resolveTenant, {
    onRejected: (rejection, _req, res) => {
      res.status(rejection.status).send(rejection.error.code);
    },
  }),
);
// @ts-expect-error a tenant resolver is required
scopingMiddleware();
// @ts-expect-error options are not a tenant resolver
scopingMiddleware({ exempt: () => true });
// @ts-expect-error a resolver of another tenant type than the app declared
scopingMiddleware(tenantResolver({ from: fromHeader('x'), lookup: () => ({ id: 'a' }) }));

app.get('/', (req, res) => {
  const slug: string | undefined = req.tenant?.slug;
  // @ts-expect-error req.tenant is typed by TenantTypes
  req.tenant?.name;
  res.send(slug);
});
