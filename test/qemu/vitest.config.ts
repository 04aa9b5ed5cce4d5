import { defineConfig } from 'vitest/config';

// Real QEMU machines under TCG: one VM at a time (the cores are shared), generous timeouts.
// biome-ignore lint/style/noDefaultExport: vitest loads its config through the default export
export default defineConfig({
  test: {
    include: ['test/qemu/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
