// `npm start` for every example: open (and on first start create and seed) the database, listen
// on loopback, run the job worker, print what to try.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

import { banner, demoIds, demos } from './banner.js';
import { createContext, type ExampleContext } from './context.js';
import { chooseDatabase, openDatabase } from './database.js';
import { prepareDatabase } from './seed.js';

export interface StartOptions {
  /** Shown in the banner, e.g. 'Express 5'. */
  readonly framework: string;
  /** The SQLite file used when DATABASE_URL is not set. */
  readonly dataFile: string;
  /** Starts the framework's server; resolves to the port it listens on. */
  listen(ctx: ExampleContext, port: number, host: string): Promise<number>;
}

export async function startExample(options: StartOptions): Promise<void> {
  const choice = chooseDatabase(process.env.DATABASE_URL, options.dataFile);
  const base = openDatabase(choice);
  const seeded = await prepareDatabase(base);
  const ctx = createContext(base);
  const wanted = Number(process.env.PORT ?? 3000);
  let port: number;
  try {
    port = await options.listen(ctx, wanted, '127.0.0.1');
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    console.error(`Port ${wanted} is taken. Pick another one: PORT=${wanted + 1} npm start`);
    process.exit(1);
  }
  const stopWorker = ctx.jobs.start();
  process.once('SIGINT', () => {
    stopWorker();
    void base.destroy().finally(() => process.exit(0));
  });
  console.log(
    banner({
      framework: options.framework,
      port,
      database: choice.description,
      seeded,
      demos: demos(await demoIds(base)),
    }),
  );
}

/** Serves a request listener (an Express app, a Koa app's callback()); resolves to the port. */
export function listenHttp(listener: RequestListener, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer(listener);
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Runs `startExample` as a program: any start-up error ends the process with its message. */
export function main(options: StartOptions): void {
  startExample(options).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
