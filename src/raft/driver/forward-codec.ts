/**
 * Proposals a follower forwards to its leader, on the peer link. Everything a follower's
 * clients propose in one event-loop turn travels to the leader as one envelope, so a busy
 * follower costs the link (and the leader's receive path) one frame per turn, not one per
 * proposal.
 *
 * Body: `{ c: clientId, p: base64 }`; the bytes are u8 version=1, u32 count, then per
 * proposal: f64 seq, u32 length, payload. The older single form `{ clientId, seq, payload }`
 * (payload base64) is still read. Decoding checks every length; each payload is a view into
 * the decoded body (no copy: the leader copies it into its entry at once).
 */

export interface ForwardedProposal {
  readonly seq: number;
  readonly payload: Uint8Array;
}

export interface ForwardedBatch {
  readonly clientId: string;
  readonly proposals: readonly ForwardedProposal[];
}

export interface WireForwardedBatch {
  readonly c: string;
  readonly p: string;
}

const VERSION = 1;
const HEADER = 1 + 4;
const PER_PROPOSAL = 8 + 4;

export function packForwarded(batch: ForwardedBatch): WireForwardedBatch {
  let size = HEADER;
  for (const p of batch.proposals) size += PER_PROPOSAL + p.payload.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt32LE(batch.proposals.length, at);
  for (const p of batch.proposals) {
    at = out.writeDoubleLE(p.seq, at);
    at = out.writeUInt32LE(p.payload.byteLength, at);
    out.set(p.payload, at);
    at += p.payload.byteLength;
  }
  return { c: batch.clientId, p: out.toString('base64') };
}

/** The batch in `body` (either form); throws on anything malformed. */
export function unpackForwarded(body: unknown): ForwardedBatch {
  if (typeof body !== 'object' || body === null) throw new Error('forwarded proposals: not an object');
  const record = body as Record<string, unknown>;
  if (typeof record['c'] === 'string' && typeof record['p'] === 'string') {
    return { clientId: record['c'], proposals: unpackProposals(Buffer.from(record['p'], 'base64')) };
  }
  const { clientId, seq, payload } = record;
  if (typeof clientId === 'string' && typeof seq === 'number' && Number.isFinite(seq) && typeof payload === 'string') {
    const bytes = Buffer.from(payload, 'base64');
    return { clientId, proposals: [{ seq, payload: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }] };
  }
  throw new Error('forwarded proposals: neither the batch nor the single form');
}

function unpackProposals(buf: Buffer): ForwardedProposal[] {
  if (buf.length < HEADER || buf.readUInt8(0) !== VERSION) throw new Error('forwarded proposals: unknown version or truncated');
  const count = buf.readUInt32LE(1);
  // Each proposal takes at least PER_PROPOSAL bytes: a count beyond that is a lie.
  if (count > (buf.length - HEADER) / PER_PROPOSAL) throw new Error('forwarded proposals: count exceeds the body');
  const proposals: ForwardedProposal[] = [];
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    if (at + PER_PROPOSAL > buf.length) throw new Error('forwarded proposals: truncated');
    const seq = buf.readDoubleLE(at);
    const length = buf.readUInt32LE(at + 8);
    at += PER_PROPOSAL;
    if (!Number.isFinite(seq) || at + length > buf.length) throw new Error('forwarded proposals: bad proposal');
    // A view, not a copy: the leader copies each payload into its entry at once.
    proposals.push({ seq, payload: new Uint8Array(buf.buffer, buf.byteOffset + at, length) });
    at += length;
  }
  if (at !== buf.length) throw new Error('forwarded proposals: trailing bytes');
  return proposals;
}
