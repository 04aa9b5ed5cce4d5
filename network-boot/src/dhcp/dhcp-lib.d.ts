/**
 * Types for the parts of npm `dhcp` 0.2.20 that network-boot uses (the package ships none).
 * The package is patched at install time by patches/dhcp+0.2.20.patch (see server.ts).
 */
declare module 'dhcp' {
  import type { EventEmitter } from 'node:events';

  /** A decoded BOOTP/DHCP message; `options` is keyed by option code. */
  export interface DhcpLibPacket {
    op: number;
    htype: number;
    hlen: number;
    hops: number;
    xid: number;
    secs: number;
    flags: number;
    ciaddr: string;
    yiaddr: string;
    siaddr: string;
    giaddr: string;
    /** Upper-case, dash separated: `52-54-00-00-00-01`. */
    chaddr: string;
    sname: string;
    file: string;
    options: Record<number, unknown>;
  }

  export interface DhcpLibServer extends EventEmitter {
    listen(port?: number, host?: string, fn?: () => void): void;
    close(callback?: () => void): void;
    handleDiscover(req: DhcpLibPacket): void;
    handleRequest(req: DhcpLibPacket): void;
    _sock: import('node:dgram').Socket;
  }

  export interface DhcpLibOptionDef {
    name: string;
    type?: string;
    config?: string;
    attr?: string;
  }

  interface DhcpLib {
    createServer(config: Record<string, unknown>): DhcpLibServer;
    DHCPDISCOVER: 1;
    DHCPOFFER: 2;
    DHCPREQUEST: 3;
    DHCPACK: 5;
  }
  const dhcp: DhcpLib;
  // biome-ignore lint/style/noDefaultExport: describes a CommonJS module.exports
  export default dhcp;
}

declare module 'dhcp/lib/protocol.js' {
  import type { DhcpLibPacket } from 'dhcp';

  const protocol: {
    parse(buf: Buffer): DhcpLibPacket;
    format(p: Omit<DhcpLibPacket, 'options'> & { options: Record<number, unknown> }): {
      _data: Buffer;
      _w: number;
    };
  };
  // biome-ignore lint/style/noDefaultExport: describes a CommonJS module.exports
  export default protocol;
}

declare module 'dhcp/lib/options.js' {
  import type { DhcpLibOptionDef } from 'dhcp';

  const options: { opts: Record<number, DhcpLibOptionDef | undefined> };
  // biome-ignore lint/style/noDefaultExport: describes a CommonJS module.exports
  export default options;
}
