import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesGcmCodec } from '../../src/core/aes-gcm-codec.js';
import { checkCodec, decodePayload, encodePayload, type PayloadContext } from '../../src/core/payload-codec.js';
import { CodecRequiredError, InvalidDefinitionError, PayloadDecodeError } from '../../src/errors.js';

const ctx: PayloadContext = { kind: 'stepOutput', executionId: '00000000-0000-4000-8000-000000000001' };
const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('aesGcmCodec', () => {
  it('seals a value into a JSON envelope naming its key, with a fresh IV each time, and opens it again', async () => {
    const codec = aesGcmCodec({ keys: { k1 }, current: 'k1' });
    const a = await codec.encode({ card: '4242' }, ctx);
    const b = await codec.encode({ card: '4242' }, ctx);
    expect(a).toMatchObject({ '$aries:codec': 'aes-256-gcm', key: 'k1' });
    expect(JSON.stringify(a)).not.toContain('4242');
    expect(a.data).not.toBe(b.data);
    expect(await codec.decode(a, ctx)).toEqual({ card: '4242' });
  });

  it('rotation: a new current key seals new values, old keys still open what they sealed', async () => {
    const old = await aesGcmCodec({ keys: { k1 }, current: 'k1' }).encode('secret', ctx);
    const rotated = aesGcmCodec({ keys: { k1, k2 }, current: 'k2' });
    expect((await rotated.encode('x', ctx)).key).toBe('k2');
    expect(await rotated.decode(old, ctx)).toBe('secret');
  });

  it('an unknown key id is a PayloadDecodeError naming the key', async () => {
    const old = await aesGcmCodec({ keys: { k1 }, current: 'k1' }).encode('secret', ctx);
    const without = aesGcmCodec({ keys: { k2 }, current: 'k2' });
    expect(() => without.decode(old, ctx)).toThrow(PayloadDecodeError);
    expect(() => without.decode(old, ctx)).toThrow(/key "k1"/);
  });

  it('a changed ciphertext, or another key under the same id, is a PayloadDecodeError, never garbage', async () => {
    const codec = aesGcmCodec({ keys: { k1 }, current: 'k1' });
    const sealed = await codec.encode({ amount: 100 }, ctx);
    const bytes = Buffer.from(sealed.data as string, 'base64');
    bytes[14] = bytes[14]! ^ 1;
    expect(() => codec.decode({ ...sealed, data: bytes.toString('base64') }, ctx)).toThrow(/does not authenticate under key "k1"/);
    expect(() => aesGcmCodec({ keys: { k1: k2 }, current: 'k1' }).decode(sealed, ctx)).toThrow(PayloadDecodeError);
  });

  it('refuses keys that are not 32 bytes and a current that names no key', () => {
    expect(() => aesGcmCodec({ keys: { k1: randomBytes(16) }, current: 'k1' })).toThrow(InvalidDefinitionError);
    expect(() => aesGcmCodec({ keys: { k1 }, current: 'k9' })).toThrow(InvalidDefinitionError);
  });
});

describe('encodePayload / decodePayload', () => {
  it('a plain value is read as it is; an envelope without a codec is a CodecRequiredError naming the codec', async () => {
    const codec = aesGcmCodec({ keys: { k1 }, current: 'k1' });
    const stored = JSON.parse((await encodePayload({ a: 1 }, 'output', 1000, codec, ctx))!) as unknown;
    expect(await decodePayload({ a: 1 }, 'output', codec, ctx)).toEqual({ a: 1 });
    expect(await decodePayload(stored, 'output', codec, ctx)).toEqual({ a: 1 });
    await expect(decodePayload(stored, 'the output', undefined, ctx)).rejects.toThrow(CodecRequiredError);
    await expect(decodePayload(stored, 'the output', undefined, ctx)).rejects.toThrow(/encoded by codec "aes-256-gcm": this engine needs the engine option codec/);
  });

  it('undefined stays SQL NULL, encoded or not', async () => {
    expect(await encodePayload(undefined, 'output', 1000, aesGcmCodec({ keys: { k1 }, current: 'k1' }), ctx)).toBeNull();
  });
});

describe('checkCodec', () => {
  it('an engine codec must have encode and decode; one whose encode returns no envelope is refused at the write', async () => {
    expect(() => checkCodec({ encode: () => ({}) })).toThrow(InvalidDefinitionError);
    const broken = checkCodec({ encode: () => ({ data: 'x' }), decode: () => null })!;
    await expect(encodePayload({ a: 1 }, 'output of step "s"', 1000, broken as never, ctx)).rejects.toThrow(/no envelope for output of step "s"/);
  });
});
