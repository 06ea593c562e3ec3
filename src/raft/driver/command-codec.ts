/**
 * The payload of a normal Raft entry: a client command with its identity and the leader's
 * timestamp. `clientId` + `seq` let the state machine drop a command applied before (a
 * retry across a leader change); `timestamp` is the leader's wall clock when it proposed,
 * the only clock a replicated state machine may read.
 *
 * Layout: [u8 version=1][u16 clientId bytes][clientId utf8][f64 seq][f64 timestamp][payload]
 */
export interface Command {
  readonly clientId: string;
  readonly seq: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

const VERSION = 1;
const FIXED = 1 + 2 + 8 + 8;

export function encodeCommand(command: Command): Uint8Array {
  const id = Buffer.from(command.clientId, 'utf8');
  const out = Buffer.allocUnsafe(FIXED + id.length + command.payload.length);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt16LE(id.length, at);
  at += id.copy(out, at);
  at = out.writeDoubleLE(command.seq, at);
  at = out.writeDoubleLE(command.timestamp, at);
  out.set(command.payload, at);
  return out;
}

export function decodeCommand(data: Uint8Array): Command {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < FIXED || buf.readUInt8(0) !== VERSION) throw new Error('raft: not a v1 command entry');
  const idLength = buf.readUInt16LE(1);
  let at = 3;
  const clientId = buf.toString('utf8', at, at + idLength);
  at += idLength;
  const seq = buf.readDoubleLE(at);
  const timestamp = buf.readDoubleLE(at + 8);
  return { clientId, seq, timestamp, payload: buf.subarray(at + 16) };
}
