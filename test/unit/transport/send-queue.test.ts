/** The per-peer send queue: FIFO, bounded by bytes, refusals change nothing. */
import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../../src/transport/send-queue.js';

describe('SendQueue', () => {
  it('keeps frames in order and counts their bytes', () => {
    const queue = new SendQueue(100);
    expect(queue.push('a', 10)).toBe(true);
    expect(queue.push('b', 20)).toBe(true);
    expect(queue.bytes).toBe(30);
    expect(queue.shift()).toEqual({ frame: 'a', bytes: 10 });
    expect(queue.shift()).toEqual({ frame: 'b', bytes: 20 });
    expect(queue.shift()).toBeUndefined();
    expect(queue.bytes).toBe(0);
  });

  it('refuses a frame that would pass the bound and stays unchanged', () => {
    const queue = new SendQueue(100);
    expect(queue.push('a', 60)).toBe(true);
    expect(queue.push('b', 41)).toBe(false);
    expect(queue.bytes).toBe(60);
    expect(queue.length).toBe(1);
    expect(queue.push('c', 40)).toBe(true); // exactly at the bound is fine
    expect(queue.fits(1)).toBe(false);
    expect(queue.fits(0)).toBe(true);
  });

  it('counts bytes committed elsewhere (the socket buffer) against the bound', () => {
    const queue = new SendQueue(100);
    expect(queue.fits(50, 50)).toBe(true);
    expect(queue.fits(51, 50)).toBe(false);
  });

  it('stays in order across its internal compaction', () => {
    const queue = new SendQueue(1_000_000);
    const out: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      queue.push(String(i), 1);
      if (i % 3 === 0) out.push(queue.shift()!.frame);
    }
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item.frame);
    expect(out).toEqual(Array.from({ length: 5_000 }, (_, i) => String(i)));
    expect(queue.bytes).toBe(0);
    expect(queue.length).toBe(0);
  });

  it('clear() empties it', () => {
    const queue = new SendQueue(10);
    queue.push('a', 5);
    queue.clear();
    expect(queue.bytes).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});
