import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromWire, toWire, type WireMessage } from '../../../src/raft/driver/message-codec.js';
import { makeMessage, type Entry, type Message, type MessageType } from '../../../src/raft/types.js';

const TYPES: MessageType[] = ['PreVote', 'PreVoteResp', 'Vote', 'VoteResp', 'App', 'AppResp', 'Heartbeat', 'HeartbeatResp', 'SnapResp', 'TimeoutNow', 'TransferLeader', 'ReadIndex', 'ReadIndexResp'];
const index = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const entry: fc.Arbitrary<Entry> = fc.record({
  index,
  term: index,
  type: fc.constantFrom('normal' as const, 'confChange' as const, 'noop' as const),
  data: fc.uint8Array({ maxLength: 300 }),
});

const message: fc.Arbitrary<Message> = fc
  .record({
    type: fc.constantFrom(...TYPES),
    group: fc.string({ maxLength: 20 }),
    from: fc.string({ minLength: 1, maxLength: 20 }),
    to: fc.string({ minLength: 1, maxLength: 20 }),
    term: index,
    logTerm: index,
    index,
    commit: index,
    reject: fc.boolean(),
    rejectHint: index,
    context: fc.string({ maxLength: 40 }),
    entries: fc.array(entry, { maxLength: 12 }),
  })
  .map((m) => makeMessage(m));

/** Through the JSON envelope, as on the peer link. */
function overTheWire(m: Message): Message {
  return fromWire(JSON.parse(JSON.stringify(toWire(m))) as WireMessage);
}

describe('raft message codec', () => {
  it('round-trips every message without a snapshot through the packed form', () => {
    fc.assert(
      fc.property(message, (m) => {
        const wire = toWire(m);
        expect('p' in wire).toBe(true);
        expect(overTheWire(m)).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps snapshot chunks in the plain form', () => {
    const m = makeMessage({
      type: 'Snap',
      group: 'meta',
      from: 'n1',
      to: 'n2',
      term: 3,
      snapshot: { index: 10, term: 2, conf: { voters: ['n1', 'n2'], learners: [] } },
      snapOffset: 0,
      snapTotal: 5,
      snapData: new Uint8Array([1, 2, 3, 4, 5]),
    });
    const wire = toWire(m);
    expect('p' in wire).toBe(false);
    expect(overTheWire(m)).toEqual(m);
  });

  it('gives the entries of a message one copy of exactly their bytes, not the frame', () => {
    const entries: Entry[] = [
      { index: 1, term: 1, type: 'normal', data: new Uint8Array([7, 8]) },
      { index: 2, term: 1, type: 'normal', data: new Uint8Array([]) },
      { index: 3, term: 1, type: 'normal', data: new Uint8Array([9]) },
    ];
    const m = makeMessage({ type: 'App', group: 'g', from: 'a', to: 'b', term: 1, entries });
    const received = overTheWire(m).entries.map((e) => e.data);
    expect(received.map((d) => [...d])).toEqual([[7, 8], [], [9]]);
    for (const data of received) expect(data.buffer.byteLength).toBe(3);
    const single = overTheWire(makeMessage({ type: 'App', group: 'g', from: 'a', to: 'b', term: 1, entries: [entries[0]!] }));
    expect(single.entries[0]!.data.buffer.byteLength).toBe(2);
  });

  it('refuses a truncated, padded or corrupted packed message', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const bytes = Buffer.from((toWire(m) as { p: string }).p, 'base64');
        const truncated = bytes.subarray(0, cut % bytes.length);
        expect(() => fromWire({ p: truncated.toString('base64') })).toThrow(/raft message/);
        const padded = Buffer.concat([bytes, Buffer.from([0])]);
        expect(() => fromWire({ p: padded.toString('base64') })).toThrow(/raft message/);
      }),
      { numRuns: 200 },
    );
    const bytes = Buffer.from((toWire(makeMessage({ type: 'App', group: 'g', from: 'a', to: 'b', term: 1 })) as { p: string }).p, 'base64');
    bytes[1] = 200; // no such message type
    expect(() => fromWire({ p: bytes.toString('base64') })).toThrow(/unknown code/);
    bytes[0] = 9; // another version
    expect(() => fromWire({ p: bytes.toString('base64') })).toThrow(/version/);
    expect(() => fromWire({ p: 42 } as unknown as WireMessage)).toThrow(/not a string/);
  });
});
