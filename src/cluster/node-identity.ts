/**
 * A node's identity, stored in <data-dir>/node.json when the data dir is first used:
 * its id, the cluster it was bootstrapped into, a random incarnation (a node that lost
 * its data dir comes back as a new incarnation, which its peers refuse, so it can never
 * vote twice in a term), and the voters it bootstrapped with. After the first start,
 * `--peers` no longer defines membership: the stored bootstrap voters and the log do.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

export interface NodeIdentity {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly incarnation: string;
  readonly bootstrapVoters: readonly string[];
  readonly createdAt: string;
}

/** The cluster id all members of a fresh cluster derive alike: a digest of the member ids. */
export function deriveClusterId(memberIds: readonly string[]): string {
  const digest = createHash('sha256').update(`distsync-cluster\n${[...memberIds].sort().join(',')}`).digest('hex');
  return digest.slice(0, 16);
}

/** Writes `content` to `file` atomically and durably (temp file, fsync, rename, dir fsync). */
export async function writeFileDurably(file: string, content: string): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Loads the identity of the node in `dataDir`, creating it on first use from the
 * configured id and members. Refuses a data dir that belongs to another node id.
 */
export interface IdentityOptions {
  /** Join an existing cluster instead of bootstrapping one: no bootstrap voters. */
  readonly join?: { readonly clusterId: string };
}

export async function loadOrCreateIdentity(
  dataDir: string,
  nodeId: string,
  memberIds: readonly string[],
  options: IdentityOptions = {},
): Promise<NodeIdentity> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, 'node.json');
  let existing: string | undefined;
  try {
    existing = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (existing !== undefined) {
    const stored = JSON.parse(existing) as Partial<NodeIdentity>;
    if (stored.nodeId !== nodeId) {
      throw new Error(`data dir ${dataDir} belongs to node "${String(stored.nodeId)}", not "${nodeId}"`);
    }
    if (!stored.clusterId || !stored.incarnation || !Array.isArray(stored.bootstrapVoters)) {
      throw new Error(`${file} is incomplete; it was written by an older distsync or damaged`);
    }
    return stored as NodeIdentity;
  }
  const identity: NodeIdentity = {
    nodeId,
    clusterId: options.join?.clusterId ?? deriveClusterId(memberIds),
    incarnation: randomBytes(8).toString('hex'),
    // A joining node learns the membership from the leader's log.
    bootstrapVoters: options.join ? [] : [...memberIds].sort(),
    createdAt: new Date().toISOString(),
  };
  await writeFileDurably(file, JSON.stringify(identity, null, 2) + '\n');
  return identity;
}
