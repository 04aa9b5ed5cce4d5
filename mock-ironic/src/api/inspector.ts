import { Type } from '@sinclair/typebox';
import type { App, AppDeps } from './app.ts';
import { ApiError } from './errors.ts';

/**
 * ironic-inspector's ramdisk callback, `POST /v1/continue` (unauthenticated), served by the mock so the
 * `inspector` inspect interface works without a separate inspector service. The agent finds it through
 * `ipa-inspection-callback-url` on its kernel command line.
 */
export function registerInspectorRoutes(app: App, deps: AppDeps): void {
  app.post(
    '/v1/continue',
    {
      schema: {
        body: Type.Object(
          { inventory: Type.Object({}, { additionalProperties: true }) },
          { additionalProperties: true },
        ),
      },
      config: { schemaName: 'introspection data' },
    },
    async (req, reply) => {
      try {
        return { uuid: deps.conductor.continueInspection(req.body as never) };
      } catch (err) {
        // ironic-inspector's error body: {"error": {"message": ...}}.
        const status = err instanceof ApiError ? err.status : 500;
        return reply.code(status).send({ error: { message: (err as Error).message } });
      }
    },
  );
}
