/**
 * How a simulated machine reaches the boot services: the same `IpxeFetcher` contract over
 * (a) real HTTP/TFTP to the lab's servers — the wire path, used by some nodes and the tests — or
 * (b) direct reads of the boot root directories, which costs a `stat`/`readFile` per fetch and keeps
 * 1,000 simulated nodes cheap. Both report each fetch through `onFetch`, like the HTTP server does.
 */
import { readFile, stat } from 'node:fs/promises';
import type { FetchOutcome, IpxeFetcher } from './ipxe/script.ts';
import { resolveUnder } from './paths.ts';
import { tftpGet } from './tftp/client.ts';

export interface FetchRecord {
  readonly url: string;
  readonly kind: 'script' | 'image';
  readonly ok: boolean;
  readonly bytes?: number;
  readonly error?: string;
}

export interface DirectoryFetcherOptions {
  /** URL prefixes (e.g. Ironic's `[deploy]http_url` + '/') and the directories they map to. */
  readonly http: readonly { readonly urlPrefix: string; readonly dir: string }[];
  /** Directory behind `tftp://<any host>/`. */
  readonly tftpRoot?: string;
  readonly onFetch?: (record: FetchRecord) => void;
}

export function directoryFetcher(opts: DirectoryFetcherOptions): IpxeFetcher {
  const locate = (url: string): string | undefined => {
    if (url.startsWith('tftp://') && opts.tftpRoot !== undefined) {
      const path = decodeURIComponent(new URL(url).pathname);
      return resolveUnder(opts.tftpRoot, path);
    }
    for (const { urlPrefix, dir } of opts.http) {
      if (url.startsWith(urlPrefix)) {
        const path = decodeURIComponent(url.slice(urlPrefix.length).split('?')[0] ?? '');
        return resolveUnder(dir, path);
      }
    }
    return undefined;
  };
  const report = (r: FetchRecord) => opts.onFetch?.(r);
  return {
    async script(url) {
      const file = locate(url);
      const body = file === undefined ? undefined : await readFile(file, 'utf8').catch(() => undefined);
      if (body === undefined) {
        const error =
          file === undefined ? 'Connection refused' : 'No such file or directory (http://ipxe.org/2d0c613b)';
        report({ url, kind: 'script', ok: false, error });
        return { ok: false, error };
      }
      report({ url, kind: 'script', ok: true, bytes: Buffer.byteLength(body) });
      return { ok: true, value: body };
    },
    async image(url) {
      const file = locate(url);
      const st = file === undefined ? undefined : await stat(file).catch(() => undefined);
      if (st === undefined || !st.isFile()) {
        const error =
          file === undefined ? 'Connection refused' : 'No such file or directory (http://ipxe.org/2d0c613b)';
        report({ url, kind: 'image', ok: false, error });
        return { ok: false, error };
      }
      report({ url, kind: 'image', ok: true, bytes: st.size });
      return { ok: true, value: st.size };
    },
  };
}

export interface NetworkFetcherOptions {
  /** TFTP server port (69 on a real network). */
  readonly tftpPort?: number;
  readonly timeoutMs?: number;
  readonly onFetch?: (record: FetchRecord) => void;
}

/** Real requests: GET for scripts, HEAD for images over HTTP; a TFTP read for tftp:// URLs. */
export function networkFetcher(opts: NetworkFetcherOptions = {}): IpxeFetcher {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const report = (r: FetchRecord) => opts.onFetch?.(r);
  async function get(
    url: string,
    method: 'GET' | 'HEAD',
  ): Promise<FetchOutcome<{ body: string; size: number }>> {
    try {
      if (url.startsWith('tftp://')) {
        const u = new URL(url);
        const data = await tftpGet(
          u.hostname,
          Number(u.port || opts.tftpPort || 69),
          decodeURIComponent(u.pathname.slice(1)),
          { timeoutMs },
        );
        return { ok: true, value: { body: data.toString('utf8'), size: data.length } };
      }
      const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        return { ok: false, error: `HTTP ${res.status}` };
      }
      const body = method === 'GET' ? await res.text() : '';
      const size =
        method === 'GET' ? Buffer.byteLength(body) : Number(res.headers.get('content-length') ?? 0);
      return { ok: true, value: { body, size } };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }
  return {
    async script(url) {
      const r = await get(url, 'GET');
      report(
        r.ok
          ? { url, kind: 'script', ok: true, bytes: r.value.size }
          : { url, kind: 'script', ok: false, error: r.error },
      );
      return r.ok ? { ok: true, value: r.value.body } : r;
    },
    async image(url) {
      const r = await get(url, 'HEAD');
      report(
        r.ok
          ? { url, kind: 'image', ok: true, bytes: r.value.size }
          : { url, kind: 'image', ok: false, error: r.error },
      );
      return r.ok ? { ok: true, value: r.value.size } : r;
    },
  };
}
