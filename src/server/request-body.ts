/** Reads a request's JSON body, bounded in size, as a plain object. */
import type { IncomingMessage } from 'node:http';
import { InvalidInputError, PayloadTooLargeError, RequestRefusedError } from '../errors.js';

export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new PayloadTooLargeError('the request body', declared, limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new PayloadTooLargeError('the request body', size, limitBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RequestRefusedError('MALFORMED_REQUEST', `the request body is not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
