// Finds the TypeScript blocks of a Markdown page, with the HTML-comment markers that say how the
// docs test treats each one (see snippets.test.ts for the conventions).

export type SnippetFlag = 'skip' | 'compile-only' | 'continue' | 'mocha';

export interface Snippet {
  /** The page, relative to the repository root. */
  readonly page: string;
  /** 1-based line of the block's first code line in the page. */
  readonly line: number;
  /** The block's own code. */
  readonly code: string;
  /** The hidden prelude in force for this block ('' when none). */
  readonly prelude: string;
  readonly flags: ReadonlySet<SnippetFlag>;
  /** The output the block must print, from a following block marked `output`. */
  output?: { readonly line: number; readonly text: string };
}

const FLAGS = new Set<string>(['skip', 'compile-only', 'continue', 'mocha']);
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;
const MARKER = /^<!--\s*snippet:\s*([\w\s-]+?)\s*-->$/;
const PRELUDE_START = /^<!--\s*snippet:\s*prelude\b(.*)$/;

export class SnippetSyntaxError extends Error {}

export function extractSnippets(page: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  let prelude = '';
  let marker: string[] = []; // the words of a marker on the last non-blank line
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const trimmed = line.trim();
    const preludeStart = PRELUDE_START.exec(trimmed);
    if (preludeStart) {
      // <!-- snippet: prelude … --> on one line or several: its text runs before every later block.
      const body: string[] = [];
      let rest = preludeStart[1] ?? '';
      while (!rest.includes('-->')) {
        body.push(rest);
        i++;
        if (i >= lines.length) throw new SnippetSyntaxError(`${page}: unterminated snippet prelude`);
        rest = lines[i] as string;
      }
      body.push(rest.slice(0, rest.indexOf('-->')));
      prelude = body.join('\n').trim();
      marker = [];
      continue;
    }
    const markerMatch = MARKER.exec(trimmed);
    if (markerMatch) {
      marker = (markerMatch[1] as string).split(/\s+/);
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      if (trimmed !== '') marker = [];
      continue;
    }
    const [, indent, ticks, lang] = fence as unknown as [string, string, string, string];
    const start = i + 1;
    const code: string[] = [];
    for (i++; i < lines.length; i++) {
      const current = lines[i] as string;
      if (current.trim().startsWith(ticks) && current.trim().replace(/[`~]/g, '') === '') break;
      code.push(current.startsWith(indent) ? current.slice(indent.length) : current);
    }
    if (i >= lines.length) throw new SnippetSyntaxError(`${page}:${start}: unterminated code block`);
    const words = marker;
    marker = [];
    if (words.includes('output')) {
      const previous = snippets.at(-1);
      if (!previous)
        throw new SnippetSyntaxError(`${page}:${start}: an output block needs a TypeScript block before it`);
      previous.output = { line: start + 1, text: code.join('\n') };
      continue;
    }
    if (lang !== 'ts' && lang !== 'typescript') continue;
    for (const word of words) {
      if (!FLAGS.has(word)) throw new SnippetSyntaxError(`${page}:${start}: unknown snippet marker "${word}"`);
    }
    snippets.push({
      page,
      line: start + 1,
      code: code.join('\n'),
      prelude,
      flags: new Set(words as SnippetFlag[]),
    });
  }
  return snippets;
}

/** A block with its prelude and, for `continue`, the blocks it continues: what is compiled and run. */
export interface Program {
  readonly snippet: Snippet;
  /** The module's source. */
  readonly source: string;
  /** Where each line of `source` comes from, for error messages. */
  readonly origins: ReadonlyArray<{ readonly page: string; readonly line: number } | 'prelude'>;
  /** The program this one continues: its output is printed first, and not shown again. */
  readonly continues: Program | undefined;
}

export function programsOf(snippets: readonly Snippet[]): Program[] {
  const out: Program[] = [];
  for (const snippet of snippets) {
    const previous = out.at(-1);
    const continues = snippet.flags.has('continue');
    if (continues && (!previous || previous.snippet.page !== snippet.page)) {
      throw new SnippetSyntaxError(`${snippet.page}:${snippet.line}: "continue" needs an earlier block on the page`);
    }
    const lines: string[] = [];
    const origins: Program['origins'][number][] = [];
    if (continues && previous) {
      lines.push(...previous.source.split('\n'));
      origins.push(...previous.origins);
    } else if (snippet.prelude) {
      for (const l of snippet.prelude.split('\n')) {
        lines.push(l);
        origins.push('prelude');
      }
    }
    snippet.code.split('\n').forEach((l, k) => {
      lines.push(l);
      origins.push({ page: snippet.page, line: snippet.line + k });
    });
    out.push({ snippet, source: lines.join('\n'), origins, continues: continues ? previous : undefined });
  }
  return out;
}

/** Printed output as a page shows it: trailing spaces and surrounding blank lines left out. */
export function tidy(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}
