import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

// patches/kafkajs+2.2.4.patch rewrites kafkajs's record encoding for speed: an encoder buffer that is not
// zero-filled, varints written in place, and a slicing-by-8 CRC-32C. The broker checks every batch's CRC
// (the integration tests produce through it); these check the same bytes without one.
const require = createRequire(import.meta.url);
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;
const Encoder = require('kafkajs/src/protocol/encoder') as new () => EncoderLike;
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => DecoderLike;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (o: object) => Promise<EncoderLike> };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: object) => EncoderLike;
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: DecoderLike) => Promise<{ records: { key: Buffer; value: Buffer; headers: Record<string, Buffer> }[] }>;

interface EncoderLike {
  readonly buffer: Buffer;
  writeVarInt(v: number): EncoderLike;
  writeUVarInt(v: number): EncoderLike;
  writeVarLong(v: bigint | number): EncoderLike;
}
interface DecoderLike {
  readVarInt(): number;
  readUVarInt(): number;
  readVarLong(): { toString(): string };
}

/** CRC-32C bit by bit, from its definition (reflected polynomial 0x82F63B78): the reference. */
const crcReference = (b: Buffer): number => {
  let crc = ~0;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
};

describe('the patched kafkajs encoding', () => {
  it('computes CRC-32C: the standard check value, and every length and alignment against the definition', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytes = randomBytes(4_200);
    for (let length = 0; length <= 40; length += 1) for (let start = 0; start < 8; start += 1) expect(crc32C(bytes.subarray(start, start + length))).toBe(crcReference(bytes.subarray(start, start + length)));
    expect(crc32C(bytes)).toBe(crcReference(bytes));
  });

  it('writes varints in place that its decoder reads back, at every byte length', () => {
    const ints = [0, 1, -1, 63, -64, 64, 127, 128, 8_191, 8_192, 1_048_575, 1_048_576, 2 ** 31 - 1, -(2 ** 31)];
    const unsigned = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456];
    const longs = [0n, 1n, -1n, 2n ** 35n, -(2n ** 40n), 2n ** 62n];
    // Repeated past several growths of the encoder's buffer, so some varints straddle its end.
    const rounds = 60;
    const e = new Encoder();
    for (let r = 0; r < rounds; r += 1) {
      for (const v of ints) e.writeVarInt(v);
      for (const v of unsigned) e.writeUVarInt(v);
      for (const v of longs) e.writeVarLong(v);
    }
    const d = new Decoder(e.buffer);
    for (let r = 0; r < rounds; r += 1) {
      expect(ints.map(() => d.readVarInt())).toEqual(ints);
      expect(unsigned.map(() => d.readUVarInt())).toEqual(unsigned);
      expect(longs.map(() => d.readVarLong().toString())).toEqual(longs.map(String));
    }
  });

  it('encodes a record batch, past several buffer growths, that carries its CRC and that its decoder reads back', async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ key: `k-${i}`, value: i % 3 === 0 ? 'é'.repeat(i * 20) : randomBytes(i * 7), headers: { 'cms-event-id': `e-${i}` } }));
    const batch = (await RecordBatch({ records: records.map((r, i) => encodeRecord({ ...r, offsetDelta: i, timestampDelta: 0 })), transactional: true, lastOffsetDelta: records.length - 1 })).buffer;
    // First offset (8 bytes), length (4), leader epoch (4), magic (1), then the CRC of everything after it.
    expect(batch.readUInt32BE(17)).toBe(crcReference(batch.subarray(21)));
    const decoded = await RecordBatchDecoder(new Decoder(batch));
    expect(decoded.records.map((r) => [r.key.toString(), r.value.toString('hex'), r.headers['cms-event-id']?.toString()])).toEqual(records.map((r) => [r.key, Buffer.from(r.value).toString('hex'), r.headers['cms-event-id']]));
  });
});
