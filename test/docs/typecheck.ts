// Type-checks snippet modules with the TypeScript API. Snippets that augment a module
// (`declare module`, `declare global`) get a program of their own, since an augmentation changes
// the types every other file sees; all others share one program. Library files are parsed once.
import ts from 'typescript';

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  types: ['node', 'mocha'], // mocha's globals, for the blocks that are test files
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

export interface Diagnostic {
  readonly file: string;
  /** 1-based line in the file. */
  readonly line: number;
  readonly message: string;
}

function cachingHost(): ts.CompilerHost {
  const host = ts.createCompilerHost(OPTIONS, true);
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    // Snippet files change between runs; everything under node_modules or the libs does not.
    if (!fileName.includes('/node_modules/') && !fileName.includes('/typescript/lib/')) {
      return getSourceFile(fileName, languageVersion, onError, shouldCreate);
    }
    if (!cache.has(fileName)) cache.set(fileName, getSourceFile(fileName, languageVersion, onError, shouldCreate));
    return cache.get(fileName);
  };
  return host;
}

export function augments(source: string): boolean {
  return /^\s*declare\s+(module\s+['"]|global\b)/m.test(source);
}

/**
 * Diagnostics per file, for files written to disk (`.mts`). `companion` is a file every program
 * includes: it imports the packages, as any app does somewhere, so that a block that only
 * augments a package (`declare module '@knex-scopes/core' { … }`) finds the package.
 */
export function typecheck(
  files: readonly string[],
  isolated: (file: string) => boolean,
  companion: string,
): Map<string, Diagnostic[]> {
  const host = cachingHost();
  const groups = [files.filter((f) => !isolated(f)), ...files.filter(isolated).map((f) => [f])];
  const out = new Map<string, Diagnostic[]>(files.map((f) => [f, []]));
  for (const group of groups) {
    if (group.length === 0) continue;
    const program = ts.createProgram({ rootNames: [companion, ...group], options: OPTIONS, host });
    for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
      const file = diagnostic.file?.fileName;
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      const target = file && out.has(file) ? file : group[0];
      if (target === undefined) continue;
      const line =
        diagnostic.file && diagnostic.start !== undefined && file === target
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1
          : 0;
      out.get(target)?.push({ file: target, line, message: file === target ? message : `${file}: ${message}` });
    }
  }
  return out;
}
