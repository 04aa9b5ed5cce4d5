import { defineConfig } from 'vitest/config';

// The Redfish BMC driven by real OpenStack Ironic 21.4 (scripts/system-deps.sh --ironic):
// `npx vitest run --config test/redfish/vitest.config.ts`.
// biome-ignore lint/style/noDefaultExport: vitest loads its config through the default export
export default defineConfig({
  test: {
    include: ['test/redfish/**/*.real.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
