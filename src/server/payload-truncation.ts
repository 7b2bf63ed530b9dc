/**
 * Large payloads in API answers. An input, output or journal payload can be megabytes; the execution page
 * shows a preview and fetches the whole value only when asked (`?full=true`). A value whose JSON exceeds
 * the limit is replaced by `{ "$truncated": true, "bytes": n, "preview": "<its first JSON characters>" }`.
 */
export const TRUNCATE_ABOVE_BYTES = 16 * 1024;
const PREVIEW_CHARS = 2 * 1024;

export interface TruncatedPayload {
  $truncated: true;
  bytes: number;
  preview: string;
}

export function truncatePayload(value: unknown, limit = TRUNCATE_ABOVE_BYTES): unknown {
  if (value === undefined || value === null || typeof value !== 'object') {
    if (typeof value !== 'string' || value.length * 3 <= limit) return value;
  }
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= limit) return value;
  return { $truncated: true, bytes, preview: json.slice(0, PREVIEW_CHARS) } satisfies TruncatedPayload;
}
