/**
 * Managers (one BMC per system, named like its system as sushy-tools does) with VirtualMedia `Cd`
 * and `Floppy` and the `#VirtualMedia.InsertMedia` / `EjectMedia` actions Ironic's redfish-virtual-media
 * boot uses. Inserting records the image; a boot from `Cd` is reported to the lab by the system
 * (`media-boot` event), which attaches or follows the ISO.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type RedfishContext, systemOf } from '../context.ts';
import { Errors, RedfishError } from '../errors.ts';
import {
  checkIfMatch,
  collection,
  type Json,
  link,
  ROOT,
  refuseOtherMethods,
  sendResource,
} from '../http.ts';
import { MEDIA_SLOTS, type MediaSlot, type RedfishSystem } from '../system.ts';

type P = { Params: { id: string } };
type PSlot = { Params: { id: string; slot: string } };

const mgrUrl = (s: RedfishSystem) => `${ROOT}/Managers/${s.id}`;

function renderManager(s: RedfishSystem): Json {
  const url = mgrUrl(s);
  return {
    '@odata.type': '#Manager.v1_10_0.Manager',
    '@odata.id': url,
    Id: s.id,
    Name: 'Manager',
    ManagerType: 'BMC',
    UUID: s.uuid,
    Model: 'bmlab virtual BMC',
    FirmwareVersion: '1.0.0',
    Status: { State: 'Enabled', Health: 'OK' },
    PowerState: 'On',
    VirtualMedia: link(`${url}/VirtualMedia`),
    Links: {
      ManagerForServers: [link(`${ROOT}/Systems/${s.id}`)],
      ManagerForChassis: [link(`${ROOT}/Chassis/${s.id}`)],
    },
  };
}

function slotOf(slot: string): MediaSlot {
  if (!Object.hasOwn(MEDIA_SLOTS, slot)) throw Errors.notFound('VirtualMedia', slot);
  return slot as MediaSlot;
}

function renderMedia(s: RedfishSystem, slot: MediaSlot): Json {
  const url = `${mgrUrl(s)}/VirtualMedia/${slot}`;
  const m = s.media(slot);
  return {
    '@odata.type': '#VirtualMedia.v1_3_0.VirtualMedia',
    '@odata.id': url,
    Id: slot,
    Name: MEDIA_SLOTS[slot].name,
    MediaTypes: MEDIA_SLOTS[slot].mediaTypes,
    Image: m.image,
    ImageName: m.imageName,
    Inserted: m.inserted,
    WriteProtected: m.writeProtected,
    ConnectedVia: m.image === null ? 'NotConnected' : 'URI',
    TransferMethod: 'Stream',
    Actions: {
      '#VirtualMedia.InsertMedia': { target: `${url}/Actions/VirtualMedia.InsertMedia` },
      '#VirtualMedia.EjectMedia': { target: `${url}/Actions/VirtualMedia.EjectMedia` },
    },
  };
}

const InsertBody = Type.Object({
  Image: Type.Optional(Type.String()),
  Inserted: Type.Optional(Type.Boolean()),
  WriteProtected: Type.Optional(Type.Boolean()),
  UserName: Type.Optional(Type.String()),
  Password: Type.Optional(Type.String()),
  TransferMethod: Type.Optional(Type.String()),
  TransferProtocolType: Type.Optional(Type.String()),
});

/** Image URIs the lab can fetch: http(s) only (no NFS/CIFS mounts in a lab). */
const IMAGE_URI = /^https?:\/\/[^\s/]+/i;

export function registerManagerRoutes(app: FastifyInstance, ctx: RedfishContext): void {
  const base = `${ROOT}/Managers`;
  app.get(base, async (_req, reply) =>
    sendResource(
      reply,
      collection('ManagerCollection', base, 'Manager Collection', [...ctx.systems.values()].map(mgrUrl)),
    ),
  );
  refuseOtherMethods(app, base, ['GET']);
  const one = `${base}/:id`;
  app.get<P>(one, async (req, reply) =>
    sendResource(reply, renderManager(systemOf(ctx, req.params.id, 'Manager'))),
  );
  refuseOtherMethods(app, one, ['GET']);

  app.get<P>(`${one}/VirtualMedia`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id, 'Manager');
    const url = `${mgrUrl(s)}/VirtualMedia`;
    return sendResource(
      reply,
      collection(
        'VirtualMediaCollection',
        url,
        'Virtual Media Services',
        Object.keys(MEDIA_SLOTS).map((k) => `${url}/${k}`),
      ),
    );
  });
  refuseOtherMethods(app, `${one}/VirtualMedia`, ['GET']);

  const media = `${one}/VirtualMedia/:slot`;
  app.get<PSlot>(media, async (req, reply) => {
    const s = systemOf(ctx, req.params.id, 'Manager');
    return sendResource(reply, renderMedia(s, slotOf(req.params.slot)));
  });
  refuseOtherMethods(app, media, ['GET']);

  app.post<PSlot>(
    `${media}/Actions/VirtualMedia.InsertMedia`,
    { schema: { body: InsertBody } },
    async (req, reply) => {
      const s = systemOf(ctx, req.params.id, 'Manager');
      const slot = slotOf(req.params.slot);
      checkIfMatch(req, renderMedia(s, slot));
      const body = req.body as {
        Image?: string;
        Inserted?: boolean;
        WriteProtected?: boolean;
        TransferProtocolType?: string;
      };
      const image = body.Image;
      if (image === undefined) throw Errors.actionParameterMissing('InsertMedia', 'Image');
      if (!IMAGE_URI.test(image)) {
        throw new RedfishError(
          400,
          'ActionParameterValueFormatError',
          `The value '${image}' for the parameter Image in the action InsertMedia is of a different format than the parameter can accept.`,
          { args: [image, 'Image', 'InsertMedia'], resolution: 'Use an http:// or https:// URI.' },
        );
      }
      if (body.TransferProtocolType !== undefined && !['HTTP', 'HTTPS'].includes(body.TransferProtocolType)) {
        throw Errors.actionParameterValueNotInList(
          body.TransferProtocolType,
          'TransferProtocolType',
          'InsertMedia',
        );
      }
      // A slot holds one image; Ironic looks for an empty slot (or one with its image) before inserting.
      if (s.media(slot).image !== null) {
        throw Errors.conflict(`Virtual media ${slot} already holds ${s.media(slot).image}; eject it first.`);
      }
      s.insertMedia(slot, image, body.WriteProtected ?? true, body.Inserted ?? true);
      return reply.code(204).send();
    },
  );
  refuseOtherMethods(app, `${media}/Actions/VirtualMedia.InsertMedia`, ['POST']);

  // Ejecting an empty slot succeeds: the end state is what the client asked for.
  app.post<PSlot>(`${media}/Actions/VirtualMedia.EjectMedia`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id, 'Manager');
    const slot = slotOf(req.params.slot);
    checkIfMatch(req, renderMedia(s, slot));
    s.ejectMedia(slot);
    return reply.code(204).send();
  });
  refuseOtherMethods(app, `${media}/Actions/VirtualMedia.EjectMedia`, ['POST']);
}
