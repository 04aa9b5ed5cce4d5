/**
 * Listens for the Redfish app: HTTP, or HTTPS with a self-signed certificate made by Debian's
 * `openssl` CLI (node:crypto can make keys but not X.509 certificates). sushy-tools serves plain
 * HTTP by default; Ironic talks to either (`redfish_verify_ca = False` for a self-signed one).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { StateError } from '../../../common/src/index.ts';
import { buildRedfishApp, type RedfishApp, type RedfishAppOptions, type TlsMaterial } from './app.ts';

/** A self-signed certificate for `host` (CN and subjectAltName), valid 10 years, from `openssl req -x509`. */
export async function selfSignedCertificate(host = '127.0.0.1'): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'bmlab-redfish-tls-'));
  try {
    const san = /^[\d.]+$/.test(host) || host.includes(':') ? `IP:${host}` : `DNS:${host}`;
    // biome-ignore format: flags and their values in pairs
    await execa('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-subj', `/CN=${host}/O=bmlab virtual BMC`,
      '-addext', `subjectAltName=${san}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return {
      key: await readFile(join(dir, 'key.pem'), 'utf8'),
      cert: await readFile(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RedfishListenOptions {
  readonly host?: string;
  /** 8000 as sushy-tools; 0 picks a free port (tests). */
  readonly port?: number;
  /** `true` makes a self-signed certificate; or pass key and certificate PEMs. */
  readonly tls?: boolean | TlsMaterial;
}

/** The Redfish service on a socket. */
export class RedfishServer {
  readonly app: RedfishApp;
  /** The certificate served over HTTPS (PEM), for clients to trust; undefined for plain HTTP. */
  readonly certificate: string | undefined;
  readonly #scheme: 'http' | 'https';
  #url: string | undefined;

  constructor(options: RedfishAppOptions, tls?: TlsMaterial) {
    this.app = buildRedfishApp(tls === undefined ? options : { ...options, https: tls });
    this.#scheme = tls === undefined ? 'http' : 'https';
    this.certificate = tls?.cert;
  }

  /** Builds the app (making the certificate first when asked) and listens. */
  static async start(options: RedfishAppOptions, listen: RedfishListenOptions = {}): Promise<RedfishServer> {
    const tls =
      listen.tls === true ? await selfSignedCertificate(listen.host ?? '127.0.0.1') : listen.tls || undefined;
    const server = new RedfishServer(options, tls);
    try {
      await server.listen(listen.host, listen.port);
    } catch (err) {
      await server.close(); // e.g. the port is taken: let go of the machines again
      throw err;
    }
    return server;
  }

  async listen(host = '127.0.0.1', port = 8000): Promise<string> {
    await this.app.listen({ host, port });
    const addr = this.app.server.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.#url = `${this.#scheme}://${h}:${addr.port}`;
    return this.#url;
  }

  /** Base URL, e.g. `http://127.0.0.1:8000` (sushy's `base_url`). */
  get url(): string {
    if (this.#url === undefined)
      throw new StateError('closed', ['listening'], 'RedfishServer is not listening');
    return this.#url;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
