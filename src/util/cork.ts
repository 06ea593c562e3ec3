/**
 * Corks a socket until the end of the current tick, so every frame written now leaves in
 * one write (one syscall) instead of one per frame. Nested cork/uncork pairs inside (ws
 * corks around each frame) only flush when this outer cork is released.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const corked = new WeakSet<Socket>();

export function corkForTick(raw: Socket | undefined): void {
  if (!raw || corked.has(raw)) return;
  corked.add(raw);
  raw.cork();
  process.nextTick(() => {
    corked.delete(raw);
    raw.uncork();
  });
}

/** The underlying TCP socket of a `ws` connection (ws keeps it in a private field). */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}
