import { CmsError } from '@cms-router/errors';

/** Confluent wire format: magic byte 0, big-endian int32 schema id, then the Avro body. */
export const MAGIC_BYTE = 0;

export function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

export function unframe(value: Buffer | null): { schemaId: number; body: Buffer } {
  if (value === null) throw new CmsError('CMS_DECODE_FAILED', 'record has no value (tombstone) where an event was expected');
  if (value.length < 5) throw new CmsError('CMS_DECODE_FAILED', `record value is ${value.length} bytes, shorter than the 5-byte Confluent wire-format header`);
  const magic = value.readUInt8(0);
  if (magic !== MAGIC_BYTE) throw new CmsError('CMS_DECODE_FAILED', `record value starts with byte ${magic}, not the Confluent wire-format magic byte 0`);
  return { schemaId: value.readInt32BE(1), body: value.subarray(5) };
}
