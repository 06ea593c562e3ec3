import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packForwarded, unpackForwarded, type ForwardedBatch } from '../../../src/raft/driver/forward-codec.js';

const batch: fc.Arbitrary<ForwardedBatch> = fc.record({
  clientId: fc.string({ maxLength: 40 }),
  proposals: fc.array(
    fc.record({ seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), payload: fc.uint8Array({ maxLength: 300 }) }),
    { maxLength: 30 },
  ),
});

/** Through the JSON envelope, as on the peer link. */
const overTheWire = (b: ForwardedBatch): ForwardedBatch => unpackForwarded(JSON.parse(JSON.stringify(packForwarded(b))));

describe('forwarded proposals codec', () => {
  it('round-trips any batch through the JSON envelope', () => {
    fc.assert(
      fc.property(batch, (b) => {
        expect(overTheWire(b)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('still reads the single-proposal form', () => {
    const body = { clientId: 'n1-abc', seq: 7, payload: Buffer.from('hello').toString('base64') };
    expect(unpackForwarded(body)).toEqual({ clientId: 'n1-abc', proposals: [{ seq: 7, payload: new Uint8Array(Buffer.from('hello')) }] });
  });

  it('refuses malformed bodies', () => {
    const good = packForwarded({ clientId: 'c', proposals: [{ seq: 1, payload: new Uint8Array([1, 2, 3]) }] });
    const bytes = Buffer.from(good.p, 'base64');
    const withBytes = (b: Buffer) => ({ c: 'c', p: b.toString('base64') });
    expect(() => unpackForwarded(withBytes(bytes.subarray(0, bytes.length - 1)))).toThrow(/bad proposal|truncated/);
    expect(() => unpackForwarded(withBytes(Buffer.concat([bytes, Buffer.from([0])])))).toThrow(/trailing/);
    const wrongVersion = Buffer.from(bytes);
    wrongVersion[0] = 2;
    expect(() => unpackForwarded(withBytes(wrongVersion))).toThrow(/version/);
    const hugeCount = Buffer.from(bytes);
    hugeCount.writeUInt32LE(1_000_000, 1);
    expect(() => unpackForwarded(withBytes(hugeCount))).toThrow(/count/);
    expect(() => unpackForwarded(null)).toThrow(/not an object/);
    expect(() => unpackForwarded({ c: 1, p: 'x' })).toThrow(/neither/);
    expect(() => unpackForwarded({ clientId: 'c', seq: Number.NaN, payload: '' })).toThrow(/neither/);
  });
});
