// The core's modules form no import circle (issue 21 broke compile-run → parent-checks →
// scoped-builder → compile-run and rewrite ↔ rewrite-plain-read): each file only calls the ones
// below it. Read from the built CommonJS, where type-only imports are gone.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const dist = resolve(__dirname, '../dist');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

function localImports(file: string): string[] {
  const out: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
    const target = resolve(dirname(file), m[1] as string);
    out.push(target.endsWith('.js') ? target : `${target}.js`);
  }
  return out;
}

describe('the core import graph', () => {
  it('has no circle', () => {
    const files = modules(dist);
    const edges = new Map(files.map((f) => [f, localImports(f)]));
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(dist, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    assert.ok(files.length > 20, `read ${files.length} modules`);
    assert.deepEqual(circles, []);
  });
});
