import { describe, expect, it } from 'vitest';
import { kafkaClusterId } from './services.ts';

describe('Kafka cluster id', () => {
  it('never starts with "-", which the storage tool would read as an option', () => {
    // 0xf8 as the first byte encodes to a leading "-" in base64url; the second draw does not.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    const id = kafkaClusterId(() => draws.shift() ?? Buffer.alloc(16, 0x02));
    expect(id).toBe(Buffer.alloc(16, 0x01).toString('base64url').slice(0, 22));
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true);
    for (let i = 0; i < 2_000; i += 1) expect(kafkaClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
