import type { FastifyRequest } from 'fastify';
import type { JsonObject } from '../store/records.ts';
import type { App, AppDeps } from './app.ts';
import { baseUrl } from './app.ts';
import { HARDWARE_TYPES } from './drivers.ts';
import { ApiError } from './errors.ts';
import { MAX_VERSION_STRING, MIN_VERSION_STRING } from './versions.ts';

function version(base: string): JsonObject {
  return {
    id: 'v1',
    links: [{ href: `${base}/v1/`, rel: 'self' }],
    status: 'CURRENT',
    min_version: MIN_VERSION_STRING,
    version: MAX_VERSION_STRING,
  };
}

function driverView(base: string, name: string, host: string): JsonObject {
  return {
    hosts: [host],
    name,
    type: 'dynamic',
    links: [
      { href: `${base}/v1/drivers/${name}`, rel: 'self' },
      { href: `${base}/drivers/${name}`, rel: 'bookmark' },
    ],
    properties: [
      { href: `${base}/v1/drivers/${name}/properties`, rel: 'self' },
      { href: `${base}/drivers/${name}/properties`, rel: 'bookmark' },
    ],
  };
}

/** Version discovery (controllers/root.py, v1/__init__.py) and the drivers resource. */
export function registerRootRoutes(app: App, deps: AppDeps): void {
  app.get('/', async (req) => {
    const base = baseUrl(deps, req);
    return {
      name: 'OpenStack Ironic API',
      description:
        'Ironic is an OpenStack project which enables the provision and management of baremetal machines.',
      default_version: version(base),
      versions: [version(base)],
    };
  });

  const v1 = async (req: FastifyRequest) => {
    const base = baseUrl(deps, req);
    const res = (name: string) => [
      { href: `${base}/v1/${name}/`, rel: 'self' },
      { href: `${base}/${name}/`, rel: 'bookmark' },
    ];
    return {
      id: 'v1',
      links: [
        { href: `${base}/v1/`, rel: 'self' },
        {
          href: 'https://docs.openstack.org//ironic/latest/contributor//webapi.html',
          rel: 'describedby',
          type: 'text/html',
        },
      ],
      media_types: [{ base: 'application/json', type: 'application/vnd.openstack.ironic.v1+json' }],
      chassis: res('chassis'),
      nodes: res('nodes'),
      ports: res('ports'),
      drivers: res('drivers'),
      portgroups: res('portgroups'),
      lookup: res('lookup'),
      heartbeat: res('heartbeat'),
      version: version(base),
    };
  };
  app.get('/v1', v1);

  app.get('/v1/drivers', async (req) => {
    const base = baseUrl(deps, req);
    return {
      drivers: Object.keys(HARDWARE_TYPES).map((n) => driverView(base, n, deps.conductor.config.host)),
    };
  });

  app.get<{ Params: { name: string } }>('/v1/drivers/:name', async (req) => {
    if (!HARDWARE_TYPES[req.params.name]) {
      throw ApiError.notFound(
        `Could not find the following driver(s) or hardware type(s): ${req.params.name}.`,
        'DriverNotFound',
      );
    }
    return driverView(baseUrl(deps, req), req.params.name, deps.conductor.config.host);
  });
}
