/**
 * Snapshot files: `snap-<16 hex index>-<16 hex term>.snap`, one per snapshot.
 *
 * Layout: "DSYNCSNP" magic, u16 version, u16 zero, u32 CRC-32 over everything after it,
 * u64 body length, then the body: u64 index, u64 term, u32 config length, config as JSON
 * ({ voters, learners }), data. All little-endian.
 * Guarantees: a file is written under a temporary name, fdatasynced, renamed and the directory
 * fsynced, so a snapshot file is either absent or complete; a damaged one is detected by its
 * checksum and reported, never half-loaded.
 */
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { asBuffer, type StorageFs } from './fs-sync.js';
import { TEMP_SUFFIX } from './segment.js';
import type { ClusterConfig, Snapshot } from './types.js';
import { assertU64Safe, readU64, u64 } from './u64.js';

const MAGIC = Buffer.from('DSYNCSNP', 'ascii');
const VERSION = 1;
const HEADER_BYTES = 24;
const SNAPSHOT_NAME = /^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotFileRef {
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

const hex16 = (value: number): string => value.toString(16).padStart(16, '0');

export function snapshotFileName(index: number, term: number): string {
  return `snap-${hex16(index)}-${hex16(term)}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotFileRef | undefined {
  const match = SNAPSHOT_NAME.exec(name);
  if (!match?.[1] || !match[2]) return undefined;
  const index = Number.parseInt(match[1], 16);
  const term = Number.parseInt(match[2], 16);
  return Number.isSafeInteger(index) && Number.isSafeInteger(term) ? { name, index, term } : undefined;
}

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const { index, term, config } = snapshot.metadata;
  assertU64Safe(index, 'snapshot index');
  assertU64Safe(term, 'snapshot term');
  const configJson = Buffer.from(JSON.stringify({ voters: config.voters, learners: config.learners }), 'utf8');
  const bodyLength = 20 + configJson.byteLength + snapshot.data.byteLength;
  const out = Buffer.alloc(HEADER_BYTES + bodyLength);
  MAGIC.copy(out, 0);
  out.writeUInt16LE(VERSION, 8);
  out.writeBigUInt64LE(u64(bodyLength), 16);
  out.writeBigUInt64LE(u64(index), HEADER_BYTES);
  out.writeBigUInt64LE(u64(term), HEADER_BYTES + 8);
  out.writeUInt32LE(configJson.byteLength, HEADER_BYTES + 16);
  configJson.copy(out, HEADER_BYTES + 20);
  out.set(snapshot.data, HEADER_BYTES + 20 + configJson.byteLength);
  out.writeUInt32LE(crc32(out.subarray(16)), 12);
  return out;
}

function parseConfig(json: string): ClusterConfig | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null) return undefined;
    const { voters, learners } = value as Record<string, unknown>;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
    return strings(voters) && strings(learners) ? { voters, learners } : undefined;
  } catch {
    return undefined;
  }
}

/** The snapshot, or a string saying why the bytes are not a valid snapshot file. */
export function decodeSnapshot(buf: Buffer): Snapshot | string {
  if (buf.byteLength < HEADER_BYTES + 20) return 'file too short';
  if (!buf.subarray(0, 8).equals(MAGIC)) return 'magic mismatch';
  if (buf.readUInt16LE(8) !== VERSION) return `unsupported snapshot version ${buf.readUInt16LE(8)}`;
  if (buf.readUInt16LE(10) !== 0) return 'reserved header bytes are not zero';
  if (crc32(buf.subarray(16)) !== buf.readUInt32LE(12)) return 'checksum mismatch';
  if (readU64(buf, 16) !== buf.byteLength - HEADER_BYTES) return 'length mismatch';
  const index = readU64(buf, HEADER_BYTES);
  const term = readU64(buf, HEADER_BYTES + 8);
  if (index === undefined || term === undefined) return 'index or term out of range';
  const configLength = buf.readUInt32LE(HEADER_BYTES + 16);
  const dataStart = HEADER_BYTES + 20 + configLength;
  if (dataStart > buf.byteLength) return 'config length out of range';
  const config = parseConfig(buf.toString('utf8', HEADER_BYTES + 20, dataStart));
  if (!config) return 'config is not { voters: string[], learners: string[] }';
  return { metadata: { index, term, config }, data: new Uint8Array(buf.subarray(dataStart)) };
}

export type SnapshotReadResult = { readonly snapshot: Snapshot } | { readonly error: string };

/** The snapshot files of one WAL directory. */
export class SnapshotStore {
  constructor(
    private readonly fs: StorageFs,
    private readonly dir: string,
  ) {}

  /** Writes the snapshot atomically and durably; returns its file name. */
  async write(snapshot: Snapshot): Promise<string> {
    const name = snapshotFileName(snapshot.metadata.index, snapshot.metadata.term);
    const path = join(this.dir, name);
    const temp = path + TEMP_SUFFIX;
    const file = await this.fs.openFile(temp, { create: true });
    try {
      await file.write(encodeSnapshot(snapshot), 0);
      await file.datasync();
    } finally {
      await file.close();
    }
    await this.fs.rename(temp, path);
    await this.fs.syncDir(this.dir);
    return name;
  }

  /** Snapshot files in the directory, newest (highest index, then term) first. */
  async list(): Promise<SnapshotFileRef[]> {
    const refs = (await this.fs.readdir(this.dir)).map(parseSnapshotFileName).filter((r) => r !== undefined);
    return refs.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  async read(ref: SnapshotFileRef): Promise<SnapshotReadResult> {
    const decoded = decodeSnapshot(asBuffer(await this.fs.readFile(join(this.dir, ref.name))));
    if (typeof decoded === 'string') return { error: decoded };
    if (decoded.metadata.index !== ref.index || decoded.metadata.term !== ref.term) {
      return { error: 'index/term inside the file do not match its name' };
    }
    return { snapshot: decoded };
  }

  /** Moves a damaged file aside (kept for inspection, ignored from now on). */
  async quarantine(ref: SnapshotFileRef): Promise<void> {
    await this.fs.rename(join(this.dir, ref.name), join(this.dir, `${ref.name}.corrupt`));
    await this.fs.syncDir(this.dir);
  }

  /** Removes all but the newest `keep` snapshot files (then fsyncs the directory). */
  async prune(options: { readonly keep: number }): Promise<number> {
    const stale = (await this.list()).slice(options.keep);
    for (const ref of stale) await this.fs.unlink(join(this.dir, ref.name));
    if (stale.length > 0) await this.fs.syncDir(this.dir);
    return stale.length;
  }
}
