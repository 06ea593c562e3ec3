/**
 * Input checks shared by the commands. Each returns an error result or undefined; none
 * touches state, so a refused command leaves the table exactly as it was.
 */
import { badInput } from './errors.js';
import type { LockError } from './types.js';

export const MAX_NAME_BYTES = 256;
export const MAX_ID_LENGTH = 256;

export function checkName(name: unknown): LockError | undefined {
  if (typeof name !== 'string' || name.length === 0) return badInput('lock name must be a non-empty string');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    return badInput(`lock name is longer than ${MAX_NAME_BYTES} bytes of UTF-8`);
  }
  return undefined;
}

export function checkId(what: string, id: unknown): LockError | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    return badInput(`${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return undefined;
}

export function checkTime(what: string, value: unknown): LockError | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return badInput(`${what} must be a non-negative integer`);
  }
  return undefined;
}

export function checkMode(mode: unknown): LockError | undefined {
  if (mode !== 'SHARED' && mode !== 'EXCLUSIVE') return badInput('mode must be SHARED or EXCLUSIVE');
  return undefined;
}

/** Parses a decimal fencing token; undefined when it is not one. */
export function parseToken(token: unknown): bigint | undefined {
  if (typeof token !== 'string' || !/^[0-9]{1,20}$/.test(token)) return undefined;
  const value = BigInt(token);
  return value <= 0xffff_ffff_ffff_ffffn ? value : undefined;
}
