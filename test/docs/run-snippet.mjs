// Runs one snippet module and ends the process when it has finished, so a snippet need not close
// its Knex pool or its server. Any error, thrown or rejected, fails the run.
import { pathToFileURL } from 'node:url';

try {
  await import(pathToFileURL(process.argv[2]).href);
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
