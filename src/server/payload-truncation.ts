/**
 * Large payloads in API answers. An input, output or journal payload can be megabytes; the execution page
 * shows a preview and fetches the whole value only when asked (`?full=true`). A value whose JSON exceeds
 * the limit comes back as `{ "$truncated": true, "bytes": n, "preview": "<its first 2,048 JSON characters>" }`,
 * cut in the database by aries.payload_preview (sql/schema/operator/payload-preview.sql), so a large payload never leaves it
 * whole unless asked for. Stored errors (a cancel reason is one) and failures are cut the same way above the same limit
 * (aries.error_preview: name, code, the first 512 characters of the message, `$truncated` and `bytes`); list pages
 * carry them as previews above ERROR_PREVIEW_BYTES (src/db/execution-pages.ts).
 */
export const TRUNCATE_ABOVE_BYTES = 16 * 1024;
