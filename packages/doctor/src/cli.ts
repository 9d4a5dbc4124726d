#!/usr/bin/env node
// `knex-scopes doctor --config <file>`. Exit codes: 0 clean, 1 findings at the failing level,
// 2 the doctor could not run (usage, config, connection).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { DoctorConfig } from './config';
import { DoctorError } from './doctor-error';
import { loadConfig } from './load-config';
import { formatHuman } from './report-human';
import { formatJson, formatJsonFailure } from './report-json';
import { runDoctor } from './run-doctor';

export const EXIT_CLEAN = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_COULD_NOT_RUN = 2;

interface DoctorFlags {
  readonly config: string;
  readonly json?: boolean;
  readonly schema?: string;
  readonly failOn: 'error' | 'warning';
}

function version(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Runs the command line (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_CLEAN;
  const program = new Command('knex-scopes')
    .description('Command line tools of knex-scopes')
    .version(version())
    // Commander would exit by itself (with 1 on a usage error); the codes are ours to choose.
    .exitOverride();
  program
    .command('doctor')
    .description('check the defineScopes() declaration against the live database, both ways')
    .requiredOption('-c, --config <file>', 'a module whose default export is { scopes, knex, global?, schema? }')
    .option('--json', 'print the report as JSON')
    .option('--schema <name>', "the PostgreSQL schema or MySQL database to read (default: the connection's own)")
    .addOption(
      new Option('--fail-on <level>', 'exit 1 on findings at this level or worse')
        .choices(['error', 'warning'])
        .default('error'),
    )
    .action(async (flags: DoctorFlags) => {
      exitCode = await doctor(flags);
    });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CLEAN : EXIT_COULD_NOT_RUN;
    throw error;
  }
  return exitCode;
}

async function doctor(flags: DoctorFlags): Promise<number> {
  let config: DoctorConfig | undefined;
  try {
    config = await loadConfig(flags.config);
    const report = await runDoctor({ ...config, schema: flags.schema ?? config.schema });
    await write(process.stdout, flags.json ? formatJson(report) : formatHuman(report));
    const failing = flags.failOn === 'warning' ? report.errors + report.warnings : report.errors;
    return failing > 0 ? EXIT_FINDINGS : EXIT_CLEAN;
  } catch (error) {
    const code = error instanceof DoctorError ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    if (flags.json) await write(process.stdout, formatJsonFailure(code, message));
    await write(process.stderr, `knex-scopes doctor could not run (${code}): ${message}\n`);
    return EXIT_COULD_NOT_RUN;
  } finally {
    // runDoctor leaves a given instance open; the command is done with it.
    const knex = config?.knex;
    if (typeof knex === 'function') await knex.destroy().catch(() => undefined);
  }
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit now: a config that imports the app may hold pools or timers open.
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`knex-scopes: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT_COULD_NOT_RUN);
    },
  );
}
