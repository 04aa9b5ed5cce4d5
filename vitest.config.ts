import { defineConfig } from 'vitest/config';

// biome-ignore lint/style/noDefaultExport: vitest loads its config through the default export
export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests that boot real QEMU machines run under their own command (npm run test:qemu).
    exclude: ['**/node_modules/**', 'test/qemu/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
