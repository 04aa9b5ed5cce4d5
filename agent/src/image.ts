/**
 * The write_image deploy step (IPA `extensions/standby.py` prepare_image + ImageDownload): validate
 * image_info, pick the install disk, download from `urls` in order while hashing, verify against
 * `os_hash_algo`/`os_hash_value` (or the legacy md5 `checksum`, which may itself be a URL of a
 * checksums file), retry the whole download on failure, and stream the bytes onto the disk.
 */
import { createHash, getHashes } from 'node:crypto';
import { errors, IpaError, ipaError } from './errors.ts';
import { type AgentFaults, corrupt, throttle } from './faults.ts';
import { osInstallDevice } from './hardware.ts';
import type { AgentHost } from './host.ts';

export interface ImageOptions {
  /** `[DEFAULT]image_download_connection_retries` (IPA 9) and `..._retry_interval` (10 s). */
  readonly retries: number;
  readonly retryIntervalMs: number;
}

export const defaultImageOptions: ImageOptions = { retries: 9, retryIntervalMs: 10_000 };

export interface ImageContext {
  readonly host: AgentHost;
  readonly fetch: typeof globalThis.fetch;
  readonly faults: AgentFaults;
  readonly image: ImageOptions;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (line: string) => void;
}

/** `_validate_image_info`: failures are InvalidCommandParamsError. */
export function validateImageInfo(info: Record<string, unknown>): void {
  for (const field of ['id', 'urls']) {
    if (!(field in info)) throw errors.invalidParams(`Image is missing '${field}' field.`);
  }
  const urls = info['urls'];
  if (!Array.isArray(urls) || urls.length === 0) {
    throw errors.invalidParams("Image 'urls' must be a list with at least one element.");
  }
  const checksum = info['checksum'];
  if (checksum !== undefined && checksum !== null && (typeof checksum !== 'string' || checksum === '')) {
    throw errors.invalidParams("Image 'checksum' must be a non-empty string.");
  }
  const algo = info['os_hash_algo'];
  const value = info['os_hash_value'];
  const hasOsHash = Boolean(algo || value);
  if (hasOsHash) {
    if (typeof algo !== 'string' || algo === '')
      throw errors.invalidParams("Image 'os_hash_algo' must be a non-empty string.");
    if (typeof value !== 'string' || value === '') {
      throw errors.invalidParams("Image 'os_hash_value' must be a non-empty string.");
    }
  }
  if (!(typeof checksum === 'string' && checksum !== '') && !hasOsHash) {
    throw errors.invalidParams(
      "Image checksum is not available, either the 'checksum' field or the 'os_hash_algo' and " +
        "'os_hash_value' fields pair must be set for image verification.",
    );
  }
}

/** Chooses the hash as ImageDownload does: os_hash_algo when the ramdisk supports it, else md5 `checksum`. */
function chooseHash(info: Record<string, unknown>): { algo: string; expected: string } {
  const algo = info['os_hash_algo'];
  if (typeof algo === 'string' && getHashes().includes(algo)) {
    return { algo, expected: String(info['os_hash_value']) };
  }
  if (typeof info['checksum'] === 'string' && info['checksum'] !== '')
    return { algo: 'md5', expected: info['checksum'] };
  throw ipaError(
    'RESTError',
    `Unable to verify image ${String(info['id'])} with available checksums. Please make sure the specified ` +
      `'os_hash_algo' (currently ${algo === undefined ? 'None' : String(algo)}) is supported by this ramdisk, ` +
      "or provide a md5 checksum via the 'checksum' field",
  );
}

/** `_fetch_checksum`: a checksum that is a URL names a checksums file (`<sum>  <file>` lines or one sum). */
async function fetchChecksum(
  expected: string,
  info: Record<string, unknown>,
  ctx: ImageContext,
): Promise<string> {
  if (!/^https?:\/\//.test(expected)) return expected;
  const res = await ctx.fetch(expected);
  if (!res.ok)
    throw errors.imageDownload(
      expected,
      `Received status code ${res.status} from ${expected}, expected 200.`,
    );
  const text = (await res.text()).trim();
  if (text === '') throw errors.imageDownload(expected, 'Empty checksum file');
  const lines = text.split('\n');
  if (lines.length === 1 && !/\s/.test(text)) return text;
  const url = String((info['urls'] as unknown[])[0]);
  const fname = url.slice(url.lastIndexOf('/') + 1);
  for (const line of lines) {
    const [sum, name] = line.trim().split(/\s+/, 2);
    if (sum !== undefined && name !== undefined && name.replace(/^\*/, '') === fname) return sum;
  }
  throw errors.imageDownload(expected, `Checksum file does not contain name ${fname}`);
}

async function* bodyChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Hashes every chunk it passes through. */
async function* hashing(
  source: AsyncIterable<Uint8Array>,
  hash: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Opens the first URL that answers 200 (ImageDownload.__init__); each failure is one detail line. */
async function openImage(info: Record<string, unknown>, ctx: ImageContext): Promise<Response> {
  const id = String(info['id']);
  const details: string[] = [];
  const started = Date.now();
  for (const url of info['urls'] as unknown[]) {
    let msg: string;
    try {
      const res = await ctx.fetch(String(url));
      if (res.ok && res.body !== null) return res;
      msg = `Received status code ${res.status} from ${String(url)}, expected 200. Response body: ${await res.text()}`;
    } catch (err) {
      msg = `Unable to retrieve ${String(url)}. Error: ${err instanceof Error ? err.message : String(err)}`;
    }
    details.push(`URL: ${String(url)}; time: ${(Date.now() - started) / 1000} seconds. Error: ${msg}`);
  }
  throw errors.imageDownload(id, details.join('\n '));
}

/**
 * Downloads and writes the image; returns the command result IPA's write_image step returns:
 * `{"result": "prepare_image: image (<id>) written to device <dev> root_uuid=<disk identifier>"}`.
 */
export async function writeImage(
  node: unknown,
  info: Record<string, unknown>,
  configdrive: unknown,
  ctx: ImageContext,
): Promise<{ result: string; partitionUuids: Record<string, string> }> {
  validateImageInfo(info);
  if (info['image_type'] === 'partition') {
    throw errors.invalidParams(
      'Partition images are not supported by the bmlab agent; use a whole-disk image.',
    );
  }
  void configdrive;
  const id = String(info['id']);
  const device = osInstallDevice(await ctx.host.inventory(), node).name;
  const { algo, expected: given } = chooseHash(info);
  const faults = ctx.faults;

  for (let attempt = 0; ; attempt++) {
    try {
      const expected = await fetchChecksum(given, info, ctx);
      const res = await openImage(info, ctx);
      const hash = createHash(algo);
      let stream: AsyncIterable<Uint8Array> = bodyChunks(res.body as ReadableStream<Uint8Array>);
      if (faults.corruptWrite === 'download') stream = corrupt(stream);
      stream = hashing(stream, hash);
      if (faults.corruptWrite === 'disk') stream = corrupt(stream);
      if (faults.writeBytesPerSecond) stream = throttle(stream, faults.writeBytesPerSecond, ctx.sleep);
      if (faults.writeDelayMs) await ctx.sleep(faults.writeDelayMs);
      let written: number;
      try {
        written = await ctx.host.writeImage(device, stream);
      } catch (err) {
        if (err instanceof IpaError) throw err;
        throw errors.imageDownload(
          id,
          `Unable to write image to device ${device}. Error: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      const actual = hash.digest('hex');
      if (actual !== expected) throw errors.imageChecksum(id, device, expected, actual);
      await ctx.host.sync();
      ctx.log(`image ${id} streamed onto ${device}: ${written} bytes, ${algo} ${actual}`);
      break;
    } catch (err) {
      const retriable =
        err instanceof IpaError && (err.type === 'ImageDownloadError' || err.type === 'ImageChecksumError');
      if (!retriable || attempt >= ctx.image.retries) throw err;
      ctx.log(`Image download failed, ${attempt} of ${ctx.image.retries}: ${(err as Error).message}`);
      await ctx.sleep(ctx.image.retryIntervalMs);
    }
  }

  // `disk_utils.get_disk_identifier`: the MBR disk signature at offset 440, as hexdump prints it.
  const sig = Buffer.from(await ctx.host.readDisk(device, 440, 4)).readUInt32LE(0);
  const rootUuid = `0x${sig.toString(16).padStart(8, '0')}`;
  return {
    result: `prepare_image: image (${id}) written to device ${device} root_uuid=${rootUuid}`,
    partitionUuids: { 'root uuid': rootUuid },
  };
}
