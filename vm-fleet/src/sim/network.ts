/**
 * What a simulated NIC reaches on the wire: a DHCP server (network-boot's own decision, the same
 * `decideBoot` the UDP server uses, with addresses from the shared `LeasePool`) and boot file
 * fetches (real HTTP/TFTP, or direct reads of the boot root for cheap large fleets).
 */
import {
  type BootAnswer,
  type DhcpClientRequest,
  decideBoot,
  type IpxeFetcher,
  type LeasePool,
  type PxePolicy,
} from '../../../network-boot/src/index.ts';

export interface SimDhcpOffer {
  readonly answer: BootAnswer;
  readonly address: string;
  /** Server address (option 54 / siaddr), where a relative boot file is fetched from by TFTP. */
  readonly server: string;
}

export interface SimBootNetwork {
  /** One DISCOVER/OFFER exchange; undefined when nobody answers. */
  dhcp(req: DhcpClientRequest): SimDhcpOffer | undefined;
  readonly fetcher: IpxeFetcher;
}

export interface SimBootNetworkOptions {
  readonly policy: PxePolicy;
  readonly pool: LeasePool;
  readonly fetcher: IpxeFetcher;
  /** The DHCP server's address (defaults to the policy's next-server). */
  readonly serverAddress?: string;
  readonly onDhcp?: (req: DhcpClientRequest, offer: SimDhcpOffer | undefined) => void;
}

export function createSimBootNetwork(opts: SimBootNetworkOptions): SimBootNetwork {
  return {
    fetcher: opts.fetcher,
    dhcp(req) {
      const d = decideBoot(req, opts.policy);
      let offer: SimDhcpOffer | undefined;
      if (d.kind === 'answer') {
        const address = opts.pool.addressFor(req.mac);
        if (address !== undefined)
          offer = { answer: d, address, server: opts.serverAddress ?? opts.policy.nextServer };
      }
      opts.onDhcp?.(req, offer);
      return offer;
    },
  };
}
