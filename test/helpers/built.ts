/**
 * Multi-process suites run the built JavaScript (dist/), as users do. This loads the
 * built local-cluster module with the types of its source.
 */
import { existsSync } from 'node:fs';

const builtUrl = new URL('../../dist/src/cli/local-cluster.js', import.meta.url);

export async function loadBuiltLocalCluster(): Promise<typeof import('../../src/cli/local-cluster.js')> {
  if (!existsSync(builtUrl)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  return (await import(builtUrl.href)) as typeof import('../../src/cli/local-cluster.js');
}
