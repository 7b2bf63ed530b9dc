/**
 * The payload codec (engine option `codec`): every payload a worker or the client writes to the database
 * (an input, an output, a step output, a signal payload, a stored error's message, stack and details) goes
 * through encode; every read that hands a payload to user code, the SDK, the CLI, the API or the dashboard
 * goes through decode. Encoded, a payload is an envelope: a JSON object whose "$aries:codec" names the
 * codec, so the stored form stays JSON, the journal's checksum covers what is stored, and a reader without
 * the codec knows it meets an encoded payload (CodecRequiredError) instead of handing ciphertext on.
 *
 * A value that is no envelope is read as it is: payloads written before the codec was configured, and the
 * errors the database writes itself (a cancel's reason, WAIT_TIMEOUT, a lost lease), are plain.
 */
import { CodecRequiredError, InvalidDefinitionError, PayloadDecodeError } from '../errors.js';
import { encodeStored, type JsonValue } from './json-value.js';
import type { StoredError } from './stored-error.js';

export const CODEC_FIELD = '$aries:codec';

/** What a payload is: the codec may use it (e.g. a key per kind); the envelope does not record it. */
export type PayloadKind = 'input' | 'output' | 'stepOutput' | 'signalPayload' | 'error';

export interface PayloadContext {
  kind: PayloadKind;
  /** The execution it belongs to; null when not known yet (the input of a start or a schedule). */
  executionId: string | null;
}

/** A JSON object naming its codec in "$aries:codec"; the rest is the codec's. */
export interface EncodedPayload {
  [CODEC_FIELD]: string;
  [key: string]: JsonValue;
}

export interface PayloadCodec {
  encode(value: JsonValue, context: PayloadContext): EncodedPayload | Promise<EncodedPayload>;
  decode(stored: EncodedPayload, context: PayloadContext): JsonValue | Promise<JsonValue>;
}

export function isEncodedPayload(value: unknown): value is EncodedPayload {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Record<string, unknown>)[CODEC_FIELD] === 'string';
}

export function checkCodec(codec: unknown): PayloadCodec | undefined {
  if (codec === undefined) return undefined;
  const c = codec as Partial<PayloadCodec> | null;
  if (typeof c !== 'object' || c === null || typeof c.encode !== 'function' || typeof c.decode !== 'function') {
    throw new InvalidDefinitionError('codec must be an object with encode(value, context) and decode(stored, context)');
  }
  return c as PayloadCodec;
}

/**
 * Validates `value` (JSON, within maxBytes as plain JSON) and returns its stored text, encoded when there
 * is a codec. undefined stays SQL NULL (a step that returned nothing), as without a codec.
 */
export async function encodePayload(
  value: unknown,
  what: string,
  maxBytes: number,
  codec: PayloadCodec | undefined,
  context: PayloadContext,
): Promise<string | null> {
  const text = encodeStored(value, what, maxBytes);
  if (text === null || codec === undefined) return text;
  return JSON.stringify(await encodeWith(codec, value as JsonValue, what, context));
}

async function encodeWith(codec: PayloadCodec, value: JsonValue, what: string, context: PayloadContext): Promise<EncodedPayload> {
  const encoded = await codec.encode(value, context);
  if (!isEncodedPayload(encoded)) {
    throw new InvalidDefinitionError(`codec.encode returned no envelope for ${what}: it must return a JSON object with a string "${CODEC_FIELD}"`);
  }
  encodeStored(encoded, `the encoded ${what}`, Number.MAX_SAFE_INTEGER); // it must be JSON too
  return encoded;
}

/** A stored payload as user code sees it: decoded if it is an envelope, else as stored. */
export async function decodePayload(stored: unknown, what: string, codec: PayloadCodec | undefined, context: PayloadContext): Promise<unknown> {
  if (!isEncodedPayload(stored)) return stored;
  if (codec === undefined) throw new CodecRequiredError(what, stored[CODEC_FIELD]);
  try {
    return await codec.decode(stored, context);
  } catch (err) {
    if (err instanceof PayloadDecodeError) {
      throw new PayloadDecodeError(`${what}: ${err.message}`, { ...err.details, executionId: context.executionId });
    }
    throw new PayloadDecodeError(`${what} could not be decoded by codec "${stored[CODEC_FIELD]}": ${err instanceof Error ? err.message : String(err)}`, {
      codec: stored[CODEC_FIELD],
      executionId: context.executionId,
    });
  }
}

/**
 * An encoded error keeps in clear what the database and an operator's filters use (name, code, its
 * classification) and moves the rest (message, stack, details, a user error's own fields) into an envelope
 * stored as its `details`: record_failure copies `details` into the failures row, so every copy of the
 * error, in every table, can be decoded back.
 */
const CLEAR_ERROR_FIELDS = new Set(['name', 'code', 'failureType', 'source', 'retriesExhausted']);
export const ENCODED_ERROR_MESSAGE = '[encoded: a reader with the codec decodes it]';
const SEALED_ERROR = '$aries:error';

export async function encodeStoredError(stored: StoredError, codec: PayloadCodec | undefined, context: PayloadContext): Promise<StoredError> {
  if (codec === undefined) return stored;
  const clear: StoredError = { name: stored.name, message: ENCODED_ERROR_MESSAGE };
  const sealed: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(stored)) {
    if (v === undefined) continue;
    if (CLEAR_ERROR_FIELDS.has(k)) clear[k] = v;
    else sealed[k] = v;
  }
  clear.details = await encodeWith(codec, { [SEALED_ERROR]: sealed }, `error of execution ${context.executionId}`, context);
  return clear;
}

/**
 * Any stored JSON (a row's error, a journal record's payload) with every envelope in it decoded and every
 * encoded error put back together. `context.kind` is the kind of the top value.
 */
export async function decodeDeep(value: unknown, what: string, codec: PayloadCodec | undefined, context: PayloadContext): Promise<unknown> {
  if (value === null || typeof value !== 'object') return value;
  if (isEncodedPayload(value)) return decodeDeep(await decodePayload(value, what, codec, context), what, codec, context);
  if (Array.isArray(value)) return Promise.all(value.map((v) => decodeDeep(v, what, codec, context)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = await decodeDeep(v, what, codec, k === 'error' || k === 'details' ? { ...context, kind: 'error' } : context);
  }
  const sealed = sealedError(out.details);
  if (sealed !== undefined && out.message === ENCODED_ERROR_MESSAGE) {
    const { details: _sealed, message: _placeholder, ...rest } = out;
    return { ...rest, ...sealed };
  }
  // an encoded error's details on their own (a retry's failure details hold them under `error`)
  for (const [k, v] of Object.entries(out)) {
    const part = sealedError(v);
    if (part !== undefined) out[k] = part.details ?? null;
  }
  return out;
}

/** The message, stack and details of an encoded error, once its envelope is decoded; else undefined. */
export function sealedError(v: unknown): Record<string, unknown> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== SEALED_ERROR) return undefined;
  return (v as Record<string, Record<string, unknown>>)[SEALED_ERROR];
}

/** A stored error read back: decoded and whole again (as stored when it was never encoded). */
export async function decodeStoredError(stored: StoredError, what: string, codec: PayloadCodec | undefined, executionId: string | null): Promise<StoredError> {
  return (await decodeDeep(stored, what, codec, { kind: 'error', executionId })) as StoredError;
}
