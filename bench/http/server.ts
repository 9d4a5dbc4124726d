// One bench server in its own process:
// `server.ts <framework> <variant> <knex config as JSON> [<AppOptions as JSON>]`.
// Prints its port once listening; asked 'cpu' over the IPC channel, answers the CPU time of the
// process so far (µs), all of it and the user part, and the requests served, so the harness
// measures the server alone. Out of band, not over HTTP: the first probe request, a response of
// a shape of its own, deoptimised 19 of Node's HTTP functions (setHeader, end, writeHead,
// parserOnIncoming, ...: "wrong map"), and every server re-optimised them, polymorphic from then
// on, during its first measured window.
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
    served++;
    app(req, res);
  });
  process.on('message', (message) => {
    if (message !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    process.send?.({ cpu: user + system, user, served });
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
