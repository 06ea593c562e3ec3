/**
 * The interface a replicated state machine implements, and the wrapper every group puts
 * around it: duplicate commands are dropped (the dedup table travels in snapshots), and
 * the clock handed to the machine is the leaders' timestamps, never running back.
 */
import { decodeCommand } from './command-codec.js';
import { DedupTable, type DedupSnapshot } from './dedup-table.js';

export interface AppliedCommand {
  readonly index: number;
  readonly term: number;
  /** State-machine time: max(previous, the proposing leader's timestamp). */
  readonly now: number;
  readonly clientId: string;
  readonly payload: Uint8Array;
}

export interface StateMachine {
  apply(command: AppliedCommand): unknown;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

export interface ApplyOutcome {
  readonly clientId: string;
  readonly seq: number;
  /** False when the command had been applied before (its result was given then). */
  readonly fresh: boolean;
  readonly result?: unknown;
}

/** Snapshots written before the binary layout: one JSON object with the inner snapshot in base64. */
interface LegacyWrapperSnapshot {
  readonly clock: number;
  readonly dedup: DedupSnapshot;
  readonly machine: string;
}

interface WrapperHeader {
  readonly clock: number;
  readonly dedup: DedupSnapshot;
}

/**
 * Binary layout: MAGIC, a u32 header length, the header (JSON: clock and dedup table), then the
 * inner snapshot's bytes as they are — no base64 and no second JSON pass over a large state.
 */
const MAGIC = Buffer.from('DSM2', 'latin1');

export class DedupStateMachine {
  private dedup = new DedupTable();
  private clock = 0;
  private applied = 0;

  constructor(private readonly inner: StateMachine) {}

  applyEntry(index: number, term: number, data: Uint8Array): ApplyOutcome {
    const command = decodeCommand(data);
    this.clock = Math.max(this.clock, command.timestamp);
    this.applied = index;
    // Expire idle clients now and then, on every replica at the same entries.
    if (index % 1024 === 0) this.dedup.expire(this.clock);
    if (!this.dedup.markApplied(command.clientId, command.seq, this.clock)) {
      return { clientId: command.clientId, seq: command.seq, fresh: false };
    }
    const result = this.inner.apply({ index, term, now: this.clock, clientId: command.clientId, payload: command.payload });
    return { clientId: command.clientId, seq: command.seq, fresh: true, result };
  }

  appliedIndex(): number {
    return this.applied;
  }

  /** Whether this client's command `seq` has been applied here (e.g. inside a restored snapshot). */
  hasApplied(clientId: string, seq: number): boolean {
    return this.dedup.hasApplied(clientId, seq);
  }

  now(): number {
    return this.clock;
  }

  snapshot(): Uint8Array {
    const header = Buffer.from(JSON.stringify({ clock: this.clock, dedup: this.dedup.toSnapshot() } satisfies WrapperHeader), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    return Buffer.concat([MAGIC, length, header, this.inner.snapshot()]);
  }

  restore(data: Uint8Array, index: number): void {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length >= 8 && bytes.subarray(0, 4).equals(MAGIC)) {
      const headerEnd = 8 + bytes.readUInt32BE(4);
      const header = JSON.parse(bytes.subarray(8, headerEnd).toString('utf8')) as WrapperHeader;
      this.clock = header.clock;
      this.dedup = DedupTable.fromSnapshot(header.dedup);
      this.inner.restore(bytes.subarray(headerEnd));
    } else {
      const body = JSON.parse(bytes.toString('utf8')) as LegacyWrapperSnapshot;
      this.clock = body.clock;
      this.dedup = DedupTable.fromSnapshot(body.dedup);
      this.inner.restore(Buffer.from(body.machine, 'base64'));
    }
    this.applied = index;
  }
}
