import { Type } from '@sinclair/typebox';
import { ProvisionState as S } from '../states.ts';
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
  watchInspectionTimeouts(app, deps);
}

/**
 * ironic-inspector's periodic clean-up (`clean_up_period`): an introspection that has not received
 * the ramdisk's data within `[DEFAULT]timeout` ends with the error "Introspection timeout", which
 * Ironic's inspector interface turns into `inspect failed` (reference inspector.md §7: a ramdisk that
 * never calls back). The timeout runs from the start of the introspection.
 */
export function watchInspectionTimeouts(app: App, deps: AppDeps): void {
  const timeoutS = deps.conductor.inspectorTimeout;
  const periodMs = Math.max(1, Math.min(60, Math.floor(timeoutS / 4))) * 1000;
  const timer = setInterval(() => {
    const now = Date.now();
    for (const n of deps.store.listNodes()) {
      if (n.provision_state !== S.INSPECTWAIT || n.interfaces.inspect_interface !== 'inspector') continue;
      if (n.driver_internal_info['inspection_data_received'] || n.inspection_started_at === null) continue;
      if (now - Date.parse(n.inspection_started_at) >= timeoutS * 1000)
        deps.conductor.failInspection(n.uuid, 'Introspection timeout');
    }
  }, periodMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
