/**
 * The peer message envelope: every message between nodes travels in one of these.
 * Version 1 is JSON. `group` names the Raft group a message belongs to (absent for
 * link-level traffic such as heartbeats), so one link can carry several groups.
 */
export const ENVELOPE_VERSION = 1 as const;

export interface Envelope<Body = unknown> {
  readonly v: typeof ENVELOPE_VERSION;
  readonly from: string;
  readonly to: string;
  readonly group?: string;
  readonly type: string;
  readonly body: Body;
}

/** What a sender supplies; the transport fills in version, sender and receiver. */
export interface OutgoingMessage<Body = unknown> {
  readonly type: string;
  readonly group?: string;
  readonly body: Body;
}

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** Parses and checks a frame; returns undefined for anything that is not a v1 envelope. */
export function decodeEnvelope(frame: string): Envelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const e = parsed as Record<string, unknown>;
  if (e['v'] !== ENVELOPE_VERSION) return undefined;
  if (typeof e['from'] !== 'string' || typeof e['to'] !== 'string' || typeof e['type'] !== 'string') {
    return undefined;
  }
  if (e['group'] !== undefined && typeof e['group'] !== 'string') return undefined;
  return parsed as Envelope;
}
