/**
 * The dashboard's files (built by `npm run build` into dist/dashboard). Any path outside /api that names
 * no file gets index.html, so the dashboard's own routes survive a reload. Paths are resolved inside the
 * dashboard folder only.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** dist/dashboard beside the compiled server (dist/server), or, when running from sources, the built one. */
export function defaultDashboardDir(): string | undefined {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const candidate of [resolve(here, '../dashboard'), resolve(here, '../../dist/dashboard')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

export interface StaticFile {
  contentType: string;
  content: Buffer;
  /** Hashed asset names never change content: cache them; index.html must be revalidated. */
  immutable: boolean;
}

export async function readStaticFile(dir: string, urlPath: string): Promise<StaticFile | undefined> {
  const root = resolve(dir);
  let relative: string;
  try {
    relative = normalize(decodeURIComponent(urlPath)).replace(/^([/\\])+/, '');
  } catch {
    return undefined;
  }
  const candidate = resolve(root, relative);
  if (candidate !== root && !candidate.startsWith(root + sep)) return undefined;
  const file = (await stat(candidate).catch(() => undefined))?.isFile() ? candidate : join(root, 'index.html');
  const content = await readFile(file).catch(() => undefined);
  if (!content) return undefined;
  return {
    contentType: TYPES[extname(file)] ?? 'application/octet-stream',
    content,
    immutable: file.includes(`${sep}assets${sep}`),
  };
}
