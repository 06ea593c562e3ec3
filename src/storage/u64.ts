/**
 * u64 little-endian fields for indexes and terms. In memory they are JS numbers, so only safe
 * integers are accepted on write, and a stored value above 2^53-1 is reported, never rounded.
 */

export function assertU64Safe(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

/** For `buf.writeBigUInt64LE(u64(value), offset)`; callers validate with `assertU64Safe` first. */
export function u64(value: number): bigint {
  return BigInt(value);
}

/** The value, or undefined when it does not fit a safe integer. */
export function readU64(buf: Buffer, offset: number): number | undefined {
  const big = buf.readBigUInt64LE(offset);
  return big > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(big);
}
