import { defineConfig } from 'vitest/config';

// Tests against real OpenStack Ironic 21.4 and ironic-inspector (scripts/system-deps.sh --ironic):
// the emulated agent, and the Redfish BMC. Run with `npm run test:ironic`.
// biome-ignore lint/style/noDefaultExport: vitest loads its config through the default export
export default defineConfig({
  test: {
    include: ['test/ironic-real/**/*.real.ts', 'test/redfish/**/*.real.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
