/**
 * Leaves nothing behind: on SIGINT/SIGTERM the bench stops its children (SIGTERM, then
 * SIGKILL), deletes its temp dirs and exits 130/143; on any process exit, whatever is still
 * running is SIGKILLed and temp dirs removed synchronously. The normal path still cleans up in
 * try/finally; this is the net under it.
 */
import { killAllChildrenSync, stopAllChildren } from './children.js';
import { removeAllTempDirsSync } from './temp-dirs.js';

let installed = false;

export function installExitGuard(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    killAllChildrenSync();
    removeAllTempDirsSync();
  });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
      // A second signal while stopping goes straight to the 'exit' handler's SIGKILL.
      process.once(signal, () => process.exit(code));
      void stopAllChildren(2000).finally(() => process.exit(code));
    });
  }
}
