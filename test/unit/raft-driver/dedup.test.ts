import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../../src/raft/driver/command-codec.js';
import { DedupTable } from '../../../src/raft/driver/dedup-table.js';
import { DedupStateMachine } from '../../../src/raft/driver/state-machine.js';
import { CounterMachine, add } from './counter-machine.js';

describe('command codec', () => {
  it('round-trips client id, seq, timestamp and payload', () => {
    const command = { clientId: 'n1/abcdef', seq: 42, timestamp: 1_795_000_000_123, payload: add(7) };
    const decoded = decodeCommand(encodeCommand(command));
    expect({ ...decoded, payload: Buffer.from(decoded.payload).toString() }).toEqual({ ...command, payload: 'add:7' });
    expect(() => decodeCommand(new Uint8Array([9, 0, 0]))).toThrow(/v1 command/);
  });
});

describe('DedupTable', () => {
  it('applies each (client, seq) once, in any arrival order with duplicates (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 1, max: 40 })), { maxLength: 300 }), (arrivals) => {
        const table = new DedupTable();
        const seen = new Set<string>();
        for (const [client, seq] of arrivals) {
          expect(table.hasApplied(client, seq)).toBe(seen.has(`${client}:${seq}`));
          const fresh = table.markApplied(client, seq, 0);
          expect(fresh).toBe(!seen.has(`${client}:${seq}`));
          seen.add(`${client}:${seq}`);
        }
        // The table survives a snapshot round trip with the same answers.
        const restored = DedupTable.fromSnapshot(JSON.parse(JSON.stringify(table.toSnapshot())));
        for (const [client, seq] of arrivals) expect(restored.hasApplied(client, seq)).toBe(true);
        for (const [client, seq] of arrivals) expect(restored.markApplied(client, seq, 0)).toBe(false);
      }),
    );
  });

  it('forgets idle clients', () => {
    const table = new DedupTable(1000);
    table.markApplied('old', 1, 0);
    table.markApplied('new', 1, 5000);
    table.expire(5000);
    expect(table.size()).toBe(1);
  });
});

describe('DedupStateMachine', () => {
  it('drops a re-sent command, keeps the clock monotonic, and restores from its snapshot', () => {
    const inner = new CounterMachine();
    const machine = new DedupStateMachine(inner);
    const entry = (seq: number, timestamp: number) => encodeCommand({ clientId: 'c', seq, timestamp, payload: add(1) });
    expect(machine.applyEntry(1, 1, entry(1, 1000))).toMatchObject({ fresh: true, result: 1 });
    expect(machine.applyEntry(2, 2, entry(1, 2000))).toMatchObject({ fresh: false });
    expect(machine.applyEntry(3, 2, entry(2, 500))).toMatchObject({ fresh: true, result: 2 });
    expect(machine.now()).toBe(2000); // a new leader's older clock does not move time back
    expect(inner.applied.map((a) => a.index)).toEqual([1, 3]);

    const copy = new DedupStateMachine(new CounterMachine());
    copy.restore(machine.snapshot(), 3);
    expect(copy.appliedIndex()).toBe(3);
    expect(copy.now()).toBe(2000);
    expect(copy.applyEntry(4, 2, entry(2, 2500))).toMatchObject({ fresh: false });
    expect(copy.applyEntry(5, 2, entry(3, 2500))).toMatchObject({ fresh: true, result: 3 });
  });

  it('stores the inner snapshot as raw bytes after a small header, and still restores the older all-JSON layout', () => {
    const inner = new CounterMachine();
    const machine = new DedupStateMachine(inner);
    machine.applyEntry(1, 1, encodeCommand({ clientId: 'c', seq: 1, timestamp: 1000, payload: add(5) }));
    const bytes = Buffer.from(machine.snapshot());
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('DSM2');
    const innerBytes = Buffer.from(inner.snapshot());
    expect(bytes.subarray(bytes.length - innerBytes.length).equals(innerBytes)).toBe(true);

    const legacy = Buffer.from(
      JSON.stringify({ clock: 1000, dedup: JSON.parse(bytes.subarray(8, 8 + bytes.readUInt32BE(4)).toString()).dedup, machine: innerBytes.toString('base64') }),
    );
    for (const data of [bytes, legacy]) {
      const copy = new DedupStateMachine(new CounterMachine());
      copy.restore(data, 1);
      expect(copy.now()).toBe(1000);
      expect(copy.applyEntry(2, 1, encodeCommand({ clientId: 'c', seq: 1, timestamp: 1000, payload: add(1) }))).toMatchObject({ fresh: false });
      expect(copy.applyEntry(3, 1, encodeCommand({ clientId: 'c', seq: 2, timestamp: 1000, payload: add(1) }))).toMatchObject({ fresh: true, result: 6 });
    }
  });
});
