/** Reads a request's JSON body, bounded in size, as a plain object. */
import type { IncomingMessage } from 'node:http';
import { InvalidInputError, PayloadTooLargeError, RequestRefusedError } from '../errors.js';
import { refuseUnsafeIntegers } from './unsafe-integers.js';

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
  let text: string;
  try {
    // fatal: bytes that are not UTF-8 are refused, not replaced with U+FFFD and stored as something else
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new RequestRefusedError('MALFORMED_REQUEST', 'the request body is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RequestRefusedError('MALFORMED_REQUEST', `the request body is not JSON: ${(err as Error).message}`);
  }
  refuseUnsafeIntegers(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
