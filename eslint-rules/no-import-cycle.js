/**
 * A module must not reach itself through its imports, counting `import type` and `export … from`.
 * import-x/no-cycle skips type-only imports unconditionally (it has no option to count them), and a type
 * cycle is still two files that cannot be understood, moved or layered one without the other.
 *
 * The graph is the project's own files as TypeScript resolves them (the tsconfig given as the option);
 * packages are leaves. It is built lazily and cached for the lint run, keyed by file.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

const projects = new Map();

function project(tsconfigPath) {
  let p = projects.get(tsconfigPath);
  if (p) return p;
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfigPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const options = parsed?.options ?? {};
  const cache = ts.createModuleResolutionCache(dirname(tsconfigPath), (f) => f, options);
  p = { options, cache, imports: new Map() };
  projects.set(tsconfigPath, p);
  return p;
}

/** The project files a file imports (type, value, re-export, dynamic), each with the specifier used. */
function importsOf(p, file) {
  let list = p.imports.get(file);
  if (list) return list;
  list = [];
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '';
  }
  for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
    const { resolvedModule: m } = ts.resolveModuleName(spec, file, p.options, ts.sys, p.cache);
    if (!m || m.isExternalLibraryImport || m.resolvedFileName.includes('/node_modules/')) continue;
    list.push({ spec, target: resolve(m.resolvedFileName) });
  }
  p.imports.set(file, list);
  return list;
}

/** A path from `from` back to `to` through imports (breadth first: the shortest), or undefined. */
function pathBack(p, from, to) {
  const previous = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const at = queue.shift();
    for (const { target } of importsOf(p, at)) {
      if (target === to) {
        const chain = [at];
        for (let x = previous.get(at); x !== null; x = previous.get(x)) chain.unshift(x);
        return chain;
      }
      if (!previous.has(target)) {
        previous.set(target, at);
        queue.push(target);
      }
    }
  }
  return undefined;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles, counting type-only imports' },
    schema: [{ type: 'object', properties: { project: { type: 'string' } }, required: ['project'], additionalProperties: false }],
    messages: { cycle: 'Dependency cycle (counting import type): {{chain}}' },
  },
  create(context) {
    const root = context.cwd;
    const p = project(resolve(root, context.options[0].project));
    const file = resolve(context.physicalFilename);
    const seen = new Set();
    const check = (node) => {
      if (!node.source || typeof node.source.value !== 'string') return;
      const imported = importsOf(p, file).find((i) => i.spec === node.source.value);
      if (!imported || seen.has(imported.target)) return;
      seen.add(imported.target);
      const chain = imported.target === file ? [] : pathBack(p, imported.target, file);
      if (!chain) return;
      const names = [file, ...chain, file].map((f) => relative(root, f));
      context.report({ node, messageId: 'cycle', data: { chain: names.join(' → ') } });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};
