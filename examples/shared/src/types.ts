// The example's dimensions and tenant type, declared once for the whole app.

/** An organization is the tenant: `acme.localhost:3000` is the organization whose slug is acme. */
export interface Organization {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
}

declare module '@knex-scopes/core' {
  // One dimension; a misspelt one (`scope({ tenat: 1 }, …)`) is a compile error.
  interface ScopeDimensions {
    tenant: number;
  }
}

declare module '@knex-scopes/core/http' {
  // Types `req.tenant` (Express), `ctx.state.tenant` (Koa) and `request.tenant` (Fastify).
  interface TenantTypes {
    tenant: Organization;
  }
}
