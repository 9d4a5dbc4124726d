// One bench server in its own process:
// `server.ts <framework> <variant> <knex config as JSON> [<AppOptions as JSON>]`.
// Prints its port once listening; GET /__cpu answers the CPU time of the process so far (µs),
// all of it and the user part,
// and the requests served, so the harness measures the server alone.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import knexFactory from 'knex';
import { type AppOptions, buildHandler, type Framework, type Variant } from './apps';

async function main(): Promise<void> {
  const [framework, variant, config, options] = process.argv.slice(2) as [Framework, Variant, string, string?];
  const knex = knexFactory(JSON.parse(config));
  const app = await buildHandler(framework, variant, knex, JSON.parse(options ?? '{}') as AppOptions);
  let served = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/__cpu') {
      served++;
      return app(req, res);
    }
    const { user, system } = process.cpuUsage();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ cpu: user + system, user, served }));
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
