import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 ships CJS (main) and ESM (module) builds. Node loads the CJS one for the
// dependencies vitest leaves external (yoga, Pothos), so the code under test must get the
// same copy, or `instanceof GraphQLError` fails across the two.
const graphqlMain = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlMain }] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
      {
        // The seeded Raft simulation: CPU-bound, run on its own.
        extends: true,
        test: {
          name: 'sim',
          include: ['test/sim/**/*.test.ts'],
          testTimeout: 900_000,
        },
      },
      {
        // Real node processes from the built JavaScript, one suite at a time.
        extends: true,
        test: {
          name: 'multiprocess',
          include: ['test/multiprocess/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
