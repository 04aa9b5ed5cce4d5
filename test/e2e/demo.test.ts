import { describe, expect, it } from 'vitest';
import { runDemo } from '../../lab/src/index.ts';
import { hasCommand } from '../support/bmc.ts';

describe.skipIf(!hasCommand('ipmitool') || !hasCommand('ipmipower'))(
  'the quick-start demo (npm start)',
  () => {
    it('every step behaves as a real BMC does, and says so', async () => {
      let out = '';
      const code = await runDemo((s) => {
        out += s;
      });
      expect(out).not.toContain('FAIL');
      expect(out).toMatch(/12 of 12 steps behaved as a real BMC does/);
      expect(code).toBe(0);
    });
  },
);
