// What a page asks a reader to install, and what its TypeScript blocks need installed: the
// packages they import, the driver their Knex `client` names, the @types of imports that ship
// no types, and TypeScript itself (typescript, tsx) to check and run them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface InstallLines {
  /** Packages on `npm install` lines without --save-dev. */
  readonly runtime: ReadonlySet<string>;
  /** Packages on `npm install --save-dev` / `-D` lines. */
  readonly dev: ReadonlySet<string>;
}

const INSTALL = /^\s*npm (?:install|i) (.*)$/;

/** The packages named on the page's `npm install` lines (shell blocks), runtime and dev apart. */
export function installLinesOf(markdown: string): InstallLines {
  const runtime = new Set<string>();
  const dev = new Set<string>();
  let inShell = false;
  for (const line of markdown.split('\n')) {
    const fence = /^\s*```(\w*)/.exec(line);
    if (fence) {
      inShell = !inShell && ['sh', 'bash', 'shell', 'console'].includes(fence[1] ?? '');
      continue;
    }
    const match = inShell ? INSTALL.exec(line) : null;
    if (!match) continue;
    const words = (match[1] as string).split('#')[0]?.split('&&')[0]?.trim().split(/\s+/) ?? [];
    const isDev = words.some((w) => w === '--save-dev' || w === '-D');
    for (const word of words) {
      if (word === '' || word.startsWith('-')) continue;
      const at = word.indexOf('@', 1); // a version: `knex@3`, `@types/koa@3`
      (isDev ? dev : runtime).add(packageName(at > 0 ? word.slice(0, at) : word));
    }
  }
  return { runtime, dev };
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\(\s*)['"]([^'"]+)['"]/g;
const CLIENT = /\bclient:\s*['"]([\w-]+)['"]/g;
/** Knex's client names → the driver package a reader installs. */
const DRIVERS: Readonly<Record<string, string>> = {
  pg: 'pg',
  postgres: 'pg',
  postgresql: 'pg',
  'better-sqlite3': 'better-sqlite3',
  sqlite3: 'sqlite3',
  mysql: 'mysql',
  mysql2: 'mysql2',
};

/** The packages a block imports (bare specifiers; `node:` and relative ones left out). */
export function importsOf(code: string): Set<string> {
  const out = new Set<string>();
  for (const m of code.matchAll(IMPORT)) {
    const specifier = m[1] as string;
    if (specifier.startsWith('.') || specifier.startsWith('node:') || specifier.startsWith('/')) continue;
    out.add(packageName(specifier));
  }
  return out;
}

/** The database drivers a block's Knex `client` names: installed, never imported. */
export function driversOf(code: string): Set<string> {
  const out = new Set<string>();
  for (const m of code.matchAll(CLIENT)) {
    const driver = DRIVERS[m[1] as string];
    if (driver) out.add(driver);
  }
  return out;
}

/** `@types/…` for an installed package that ships no types of its own (express, koa, passport…). */
export function typesPackageFor(name: string, root: string): string | undefined {
  const dir = join(root, 'node_modules', name);
  const manifestFile = join(dir, 'package.json');
  if (!existsSync(manifestFile)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    types?: string;
    typings?: string;
    exports?: unknown;
  };
  const exportsTypes = JSON.stringify(manifest.exports ?? {}).includes('"types"');
  if (manifest.types || manifest.typings || exportsTypes || existsSync(join(dir, 'index.d.ts'))) return undefined;
  const bare = name.startsWith('@') ? name.slice(1).replace('/', '__') : name;
  return `@types/${bare}`;
}
