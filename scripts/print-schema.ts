/**
 * Prints the sorted SDL of the Pothos schema to schema/schema.graphql, or with --check
 * fails (exit 1) when the checked-in file differs from what the code builds.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { printSortedSchema } from '../schema/index.js';

const target = new URL('../schema/schema.graphql', import.meta.url);
const header = '# Generated from the Pothos schema by `npm run schema:print`. Do not edit.\n\n';
const expected = header + printSortedSchema();

if (process.argv.includes('--check')) {
  const actual = await readFile(target, 'utf8').catch(() => '');
  if (actual !== expected) {
    process.stderr.write('schema/schema.graphql is stale: run `npm run schema:print` and commit the result\n');
    process.exit(1);
  }
  process.stdout.write('schema/schema.graphql is up to date\n');
} else {
  await writeFile(target, expected);
  process.stdout.write('wrote schema/schema.graphql\n');
}
