/**
 * A ready payload codec: AES-256-GCM with node:crypto. Each payload gets a random 96-bit IV; the envelope
 * names the key it was sealed with, so rotating keys is a new `current` while the old keys stay in `keys`
 * to decode what they sealed. GCM authenticates: changed data, a wrong key or an unknown key id is a
 * PayloadDecodeError naming the key id, never garbage.
 *
 *   {"$aries:codec": "aes-256-gcm", "key": "k2", "data": base64(iv ‖ ciphertext ‖ tag)}
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidDefinitionError, PayloadDecodeError } from '../errors.js';
import type { JsonValue } from './json-value.js';
import { CODEC_FIELD, type EncodedPayload, type PayloadCodec } from './payload-codec.js';

export const AES_GCM_CODEC = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface AesGcmCodecOptions {
  /** Key id → 32-byte key. Keep every key that sealed a payload still stored. */
  keys: Record<string, Buffer | Uint8Array>;
  /** The key id new payloads are sealed with. */
  current: string;
}

export function aesGcmCodec(options: AesGcmCodecOptions): PayloadCodec {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of Object.entries(options?.keys ?? {})) {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new InvalidDefinitionError(`aesGcmCodec: key "${id}" must be 32 bytes (a Buffer), e.g. randomBytes(32)`);
    }
    keys.set(id, Buffer.from(key));
  }
  const current = options?.current;
  if (typeof current !== 'string' || !keys.has(current)) {
    throw new InvalidDefinitionError(`aesGcmCodec: current must name one of the keys (${[...keys.keys()].join(', ') || 'none given'})`);
  }
  return {
    encode(value: JsonValue): EncodedPayload {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keys.get(current)!, iv);
      const sealed = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return { [CODEC_FIELD]: AES_GCM_CODEC, key: current, data: Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64') };
    },
    decode(stored: EncodedPayload): JsonValue {
      if (stored[CODEC_FIELD] !== AES_GCM_CODEC) {
        throw new PayloadDecodeError(`it is encoded by codec "${stored[CODEC_FIELD]}", not ${AES_GCM_CODEC}`, { codec: stored[CODEC_FIELD] });
      }
      const keyId = stored.key;
      const key = typeof keyId === 'string' ? keys.get(keyId) : undefined;
      if (key === undefined) {
        throw new PayloadDecodeError(`it is sealed with key "${String(keyId)}", which is not among the codec's keys (${[...keys.keys()].join(', ')})`, {
          keyId: typeof keyId === 'string' ? keyId : null,
        });
      }
      const data = typeof stored.data === 'string' ? Buffer.from(stored.data, 'base64') : Buffer.alloc(0);
      try {
        if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const text = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
        return JSON.parse(text) as JsonValue;
      } catch {
        throw new PayloadDecodeError(`its data does not authenticate under key "${keyId}" (changed, or sealed with another key of that id)`, { keyId });
      }
    },
  };
}
