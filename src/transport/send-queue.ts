/**
 * A FIFO of encoded frames bounded by their total size in bytes, for a peer whose outbound link
 * is down. Guarantees: `bytes` never exceeds `maxBytes` (a push that would is refused and leaves
 * the queue unchanged, so a full queue never grows memory); frames come out in push order.
 */
export interface QueuedFrame {
  readonly frame: string;
  readonly bytes: number;
}

export class SendQueue {
  // Slots before `head` are cleared so a sent frame is not kept alive by the array.
  private frames: (QueuedFrame | undefined)[] = [];
  private head = 0;
  private total = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  get length(): number {
    return this.frames.length - this.head;
  }

  /** Whether `bytes` more would fit, given `extraBytes` already committed elsewhere. */
  fits(bytes: number, extraBytes = 0): boolean {
    return this.total + extraBytes + bytes <= this.maxBytes;
  }

  /** Appends a frame; false (and nothing stored) when it would pass the bound. */
  push(frame: string, bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.frames.push({ frame, bytes });
    this.total += bytes;
    return true;
  }

  /** Removes and returns the oldest frame. */
  shift(): QueuedFrame | undefined {
    const item = this.frames[this.head];
    if (item === undefined) return undefined;
    this.frames[this.head] = undefined;
    this.head++;
    this.total -= item.bytes;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      // Compact now and then instead of Array#shift, which is O(n) per call.
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.frames = [];
    this.head = 0;
    this.total = 0;
  }
}
