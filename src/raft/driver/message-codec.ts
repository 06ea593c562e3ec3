/**
 * Raft messages on the peer link. Most messages (appends, acks, heartbeats, votes, reads)
 * travel packed: the whole message in a compact binary layout, base64 in one JSON string
 * (`{ p }`), so a batch of entries costs one native base64 pass instead of a JSON object and a
 * base64 string per entry. Snapshot chunks keep the plain JSON form with base64 fields.
 *
 * Packed layout (little-endian): u8 version=1, u8 type, str group, str from, str to,
 * f64 term, logTerm, index, commit, rejectHint, u8 reject, str context, u32 entry count, then
 * per entry: f64 index, f64 term, u8 entry type, u32 length, data. A str is u32 length + UTF-8.
 * Decoding checks every length against the buffer and throws on anything malformed.
 */
import type { Entry, EntryType, Message, MessageType } from '../types.js';

export const RAFT_MESSAGE = 'raft.msg';
export const RAFT_PROPOSE = 'raft.propose';
export const RAFT_CONF_CHANGE = 'raft.confchange';

interface WireEntry extends Omit<Entry, 'data'> {
  readonly data: string;
}

/** The plain form (snapshot chunks). */
export interface PlainWireMessage extends Omit<Message, 'entries' | 'snapData'> {
  readonly entries: readonly WireEntry[];
  readonly snapData?: string;
}

/** The packed form: the message in the binary layout above, base64. */
export interface PackedWireMessage {
  readonly p: string;
}

export type WireMessage = PlainWireMessage | PackedWireMessage;

const PACKED_VERSION = 1;

/** Codes of the packed form: positions in these lists, so only ever append to them. */
const MESSAGE_TYPES: readonly MessageType[] = [
  'Hup',
  'Prop',
  'PreVote',
  'PreVoteResp',
  'Vote',
  'VoteResp',
  'App',
  'AppResp',
  'Heartbeat',
  'HeartbeatResp',
  'Snap',
  'SnapResp',
  'TimeoutNow',
  'TransferLeader',
  'ReadIndex',
  'ReadIndexResp',
];
const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange', 'noop'];
const MESSAGE_TYPE_CODE = new Map(MESSAGE_TYPES.map((t, i) => [t, i]));
const ENTRY_TYPE_CODE = new Map(ENTRY_TYPES.map((t, i) => [t, i]));

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

export function toWire(m: Message): WireMessage {
  if (m.snapshot === undefined && m.snapData === undefined && m.snapOffset === undefined && m.snapTotal === undefined) {
    return { p: pack(m).toString('base64') };
  }
  const { snapData, entries, ...rest } = m;
  return {
    ...rest,
    entries: entries.map((e) => ({ ...e, data: b64(e.data) })),
    ...(snapData ? { snapData: b64(snapData) } : {}),
  };
}

export function fromWire(w: WireMessage): Message {
  if ('p' in w) {
    if (typeof w.p !== 'string') throw new Error('raft message: packed body is not a string');
    return unpack(Buffer.from(w.p, 'base64'));
  }
  const { snapData, entries, ...rest } = w;
  return {
    ...rest,
    entries: entries.map((e) => ({ ...e, data: unb64(e.data) })),
    ...(snapData !== undefined ? { snapData: unb64(snapData) } : {}),
  };
}

function pack(m: Message): Buffer {
  const group = Buffer.from(m.group, 'utf8');
  const from = Buffer.from(m.from, 'utf8');
  const to = Buffer.from(m.to, 'utf8');
  const context = Buffer.from(m.context, 'utf8');
  let size = 2 + 4 * 4 + group.length + from.length + to.length + context.length + 5 * 8 + 1 + 4;
  for (const e of m.entries) size += 8 + 8 + 1 + 4 + e.data.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt8(PACKED_VERSION, 0);
  at = out.writeUInt8(code(MESSAGE_TYPE_CODE, m.type), at);
  at = writeBytes(out, group, at);
  at = writeBytes(out, from, at);
  at = writeBytes(out, to, at);
  at = out.writeDoubleLE(m.term, at);
  at = out.writeDoubleLE(m.logTerm, at);
  at = out.writeDoubleLE(m.index, at);
  at = out.writeDoubleLE(m.commit, at);
  at = out.writeDoubleLE(m.rejectHint, at);
  at = out.writeUInt8(m.reject ? 1 : 0, at);
  at = writeBytes(out, context, at);
  at = out.writeUInt32LE(m.entries.length, at);
  for (const e of m.entries) {
    at = out.writeDoubleLE(e.index, at);
    at = out.writeDoubleLE(e.term, at);
    at = out.writeUInt8(code(ENTRY_TYPE_CODE, e.type), at);
    at = writeBytes(out, e.data, at);
  }
  return out;
}

function unpack(buf: Buffer): Message {
  const r = new Reader(buf);
  if (r.u8() !== PACKED_VERSION) throw new Error('raft message: unknown packed version');
  const type = lookup(MESSAGE_TYPES, r.u8());
  const group = r.str();
  const from = r.str();
  const to = r.str();
  const term = r.f64();
  const logTerm = r.f64();
  const index = r.f64();
  const commit = r.f64();
  const rejectHint = r.f64();
  const reject = r.u8() === 1;
  const context = r.str();
  const count = r.u32();
  // Each entry takes at least 21 bytes: a count beyond what is left is malformed, not a reason to allocate.
  if (count * 21 > buf.length - r.at) throw new Error('raft message: entry count exceeds the frame');
  const read: ReadEntry[] = [];
  let dataBytes = 0;
  for (let i = 0; i < count; i++) {
    const entryIndex = r.f64();
    const entryTerm = r.f64();
    const entryType = lookup(ENTRY_TYPES, r.u8());
    const view = r.bytes();
    read.push({ index: entryIndex, term: entryTerm, type: entryType, view });
    dataBytes += view.byteLength;
  }
  if (r.at !== buf.length) throw new Error('raft message: trailing bytes');
  return { group, type, from, to, term, logTerm, index, commit, entries: copyEntries(read, dataBytes), reject, rejectHint, context };
}

interface ReadEntry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** The entry's bytes inside the frame. */
  readonly view: Buffer;
}

/**
 * The entries live in the log long after their frame, so they get a copy of exactly their
 * bytes — one allocation shared by the message's entries: a typed array of its own per entry
 * costs an allocation of external memory each, about ten times the copy itself.
 */
function copyEntries(read: readonly ReadEntry[], dataBytes: number): Entry[] {
  if (read.length === 0) return [];
  const copy = new Uint8Array(dataBytes);
  let offset = 0;
  return read.map(({ index, term, type, view }) => {
    copy.set(view, offset);
    const data = copy.subarray(offset, offset + view.byteLength);
    offset += view.byteLength;
    return { index, term, type, data };
  });
}

function code<T>(codes: ReadonlyMap<T, number>, value: T): number {
  const c = codes.get(value);
  if (c === undefined) throw new Error(`raft message: no code for ${String(value)}`);
  return c;
}

function lookup<T>(values: readonly T[], c: number): T {
  const value = values[c];
  if (value === undefined) throw new Error(`raft message: unknown code ${c}`);
  return value;
}

function writeBytes(out: Buffer, bytes: Uint8Array, at: number): number {
  const next = out.writeUInt32LE(bytes.byteLength, at);
  out.set(bytes, next);
  return next + bytes.byteLength;
}

/** Bounds-checked reads over one frame. */
class Reader {
  at = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  bytes(): Buffer {
    const length = this.u32();
    this.need(length);
    const v = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return v;
  }

  str(): string {
    return this.bytes().toString('utf8');
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error('raft message: truncated');
  }
}
