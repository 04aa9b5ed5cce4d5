import { ApiError } from './errors.ts';

/** API microversions of Ironic 21.4 (api/controllers/v1/versions.py: MINOR_82_NODE_SHARD). */
export const MIN_VERSION = { major: 1, minor: 1 } as const;
export const MAX_VERSION = { major: 1, minor: 82 } as const;
export const MIN_VERSION_STRING = '1.1';
export const MAX_VERSION_STRING = '1.82';

export const VERSION_HEADER = 'x-openstack-ironic-api-version';
export const MIN_HEADER = 'X-OpenStack-Ironic-API-Minimum-Version';
export const MAX_HEADER = 'X-OpenStack-Ironic-API-Maximum-Version';

export interface ApiVersion {
  major: number;
  minor: number;
}

/** Minor versions the mock's behaviour depends on (versions.py names). */
export const Minor = {
  LOGICAL_NAMES: 5,
  ENROLL_STATE: 11,
  RAMDISK_ENDPOINTS: 22,
  AGENT_VERSION_HEARTBEAT: 36,
  AGENT_TOKEN: 62,
  VERIFY_CA_IN_HEARTBEAT: 68,
  STATUS_IN_HEARTBEAT: 72,
} as const;

/**
 * controllers/base.py `Version.parse_headers` and v1 `_check_version`: no header means the minimum
 * (1.1), `latest` the maximum; a malformed or unsupported version is 406 with Ironic's message. The
 * min/max headers go on every response, also on the 406.
 */
export function parseVersion(header: string | undefined): ApiVersion {
  const raw = header ?? MIN_VERSION_STRING;
  const text = raw.toLowerCase() === 'latest' ? MAX_VERSION_STRING : raw;
  const parts = text.split('.');
  const nums = parts.map((p) => (/^\d+$/.test(p.trim()) ? Number(p) : Number.NaN));
  const headers = { [MIN_HEADER]: MIN_VERSION_STRING, [MAX_HEADER]: MAX_VERSION_STRING };
  if (nums.length !== 2 || nums.some(Number.isNaN)) {
    throw new ApiError(
      406,
      'Invalid value for X-OpenStack-Ironic-API-Version header',
      'NotAcceptable',
      headers,
    );
  }
  const v = { major: nums[0]!, minor: nums[1]! };
  const shown = `${v.major}.${v.minor}`;
  if (v.major !== MAX_VERSION.major) {
    throw new ApiError(
      406,
      `Mutually exclusive versions requested. Version ${shown} requested but not supported by this service. The supported version range is: [${MIN_VERSION_STRING}, ${MAX_VERSION_STRING}].`,
      'NotAcceptable',
      headers,
    );
  }
  if (v.minor < MIN_VERSION.minor || v.minor > MAX_VERSION.minor) {
    throw new ApiError(
      406,
      `Version ${shown} was requested but the minor version is not supported by this service. The supported version range is: [${MIN_VERSION_STRING}, ${MAX_VERSION_STRING}].`,
      'NotAcceptable',
      headers,
    );
  }
  return v;
}
