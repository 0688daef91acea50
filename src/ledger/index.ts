import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Provenance } from '../core/provenance.js';
import type { Format, MediaKind } from '../core/types.js';
import { AUDIO_FINGERPRINT_METHOD, audioFromBytes, bestAudioAlignment, indexAudio, type AudioIndexEntry } from './fingerprint-audio.js';
import { hashFromBytes, IMAGE_FINGERPRINT_METHOD, popcount32 } from './fingerprint-image.js';
import { TEXT_FINGERPRINT_METHOD } from './fingerprint-text.js';
import { hashesFromBytes, VIDEO_FINGERPRINT_METHOD, videoFramesMatched } from './fingerprint-video.js';
import { fingerprintMedia, type Fingerprint, type MediaBytes } from './fingerprint.js';
import { ledgerError, LedgerStore, type StoredEntry } from './store.js';

/**
 * The ledger: what `label --ledger` records and `scan --ledger` matches. Lookup is exact SHA-256
 * first (an index in SQLite), then the nearest perceptual fingerprint under the medium's
 * threshold. Fingerprints are held in memory per open ledger and searched linearly (64-bit hashes
 * with popcount: ~1e5 entries take well under a millisecond); new rows are loaded when another
 * process commits (PRAGMA data_version), so a long scan sees entries labelled meanwhile.
 */

/** Image (and video frame) hashes at most this many bits apart (of 64) are one picture. Measured: JPEG q70 + 0.5x copies of the corpus 0-4, distinct corpus images >= 20. */
export const IMAGE_MAX_DISTANCE = 10;
/** Text simhashes at most this many bits apart (of 64) are one text. */
export const TEXT_MAX_DISTANCE = 6;
/** Audio: aligned frames with at most this bit error rate over at least AUDIO_MIN_FRAMES (~3 s) are one recording; unrelated audio is near 0.5. */
export const AUDIO_MAX_BER = 0.3;
export const AUDIO_MIN_FRAMES = 128;
/** Video: at least half the query's sampled frames (and 2) have a frame in the entry within IMAGE_MAX_DISTANCE. */
export const VIDEO_MIN_MATCHED_SHARE = 0.5;

export type { LedgerEntry, StoredEntry } from './store.js';
export { LEDGER_SCHEMA_VERSION, LedgerStore } from './store.js';

export interface LedgerMatch {
  entry: StoredEntry;
  match: 'exact' | 'perceptual';
  method?: string;
  /** Hamming distance (image, text; mean over matched frames for video). */
  distance?: number;
  /** Audio: bit error rate and frames compared; video: frames matched of the query's. */
  ber?: number;
  frames?: number;
  framesMatched?: number;
}

export async function sha256Of(m: MediaBytes): Promise<Uint8Array> {
  const h = createHash('sha256');
  if (m.bytes) return h.update(m.bytes).digest();
  for await (const chunk of createReadStream(m.path!)) h.update(chunk as Buffer);
  return h.digest();
}

/** 64-bit hashes as two growable Uint32Arrays (hi, lo): the linear scan then runs on typed memory. */
class Hashes64 {
  private hi = new Uint32Array(1024);
  private lo = new Uint32Array(1024);
  private ids = new Float64Array(1024);
  size = 0;
  add(rowid: number, h: bigint): void {
    if (this.size === this.hi.length) {
      const grow = <T extends Uint32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      [this.hi, this.lo, this.ids] = [grow(this.hi), grow(this.lo), grow(this.ids)];
    }
    this.hi[this.size] = Number(h >> 32n);
    this.lo[this.size] = Number(h & 0xffffffffn);
    this.ids[this.size++] = rowid;
  }
  /** The closest hash and its distance (linear scan). */
  nearest(h: bigint): { rowid: number; distance: number } | undefined {
    const qh = Number(h >> 32n);
    const ql = Number(h & 0xffffffffn);
    const { hi, lo } = this;
    let best = 65;
    let at = -1;
    for (let i = 0; i < this.size; i++) {
      const d = popcount32(hi[i]! ^ qh) + popcount32(lo[i]! ^ ql);
      if (d < best) (best = d), (at = i);
    }
    return at < 0 ? undefined : { rowid: this.ids[at]!, distance: best };
  }
}

/** A read-only ledger with its fingerprints in memory, for scans. */
export class LedgerIndex {
  private lastRowid = 0;
  private version = -1;
  private readonly images = new Hashes64();
  private readonly texts = new Hashes64();
  private readonly audio: { rowid: number; index: AudioIndexEntry }[] = [];
  private readonly video: { rowid: number; hashes: bigint[] }[] = [];

  constructor(readonly store: LedgerStore) {}

  /** Loads rows committed since the last call (cheap when nothing changed). */
  refresh(): void {
    const v = this.store.dataVersion();
    if (v === this.version) return;
    this.version = v;
    for (const r of this.store.fingerprintsAfter(this.lastRowid)) {
      this.lastRowid = r.rowid;
      if (r.method === IMAGE_FINGERPRINT_METHOD && r.bytes.length === 8) this.images.add(r.rowid, hashFromBytes(r.bytes));
      else if (r.method === TEXT_FINGERPRINT_METHOD && r.bytes.length === 8) this.texts.add(r.rowid, hashFromBytes(r.bytes));
      else if (r.method === AUDIO_FINGERPRINT_METHOD) this.audio.push({ rowid: r.rowid, index: indexAudio(audioFromBytes(r.bytes)) });
      else if (r.method === VIDEO_FINGERPRINT_METHOD) this.video.push({ rowid: r.rowid, hashes: hashesFromBytes(r.bytes) });
      // An unknown method (a newer tamga wrote it) is skipped: exact matches still work.
    }
  }

  /** Whether any entry of this kind has a fingerprint (otherwise there is no point in computing one). */
  hasFingerprints(kind: MediaKind): boolean {
    this.refresh();
    if (kind === 'image') return this.images.size > 0;
    if (kind === 'text' || kind === 'pdf') return this.texts.size > 0;
    if (kind === 'audio') return this.audio.length > 0;
    if (kind === 'video') return this.video.length > 0;
    return false;
  }

  exact(sha256: Uint8Array): LedgerMatch | undefined {
    const [entry] = this.store.findBySha256(sha256);
    return entry ? { entry, match: 'exact' } : undefined;
  }

  /** The closest entry under the threshold of the fingerprint's method. */
  nearest(fp: Fingerprint): LedgerMatch | undefined {
    this.refresh();
    const found = (rowid: number, extra: Omit<LedgerMatch, 'entry' | 'match' | 'method'>): LedgerMatch | undefined => {
      const entry = this.store.byRowid(rowid);
      return entry ? { entry, match: 'perceptual', method: fp.method, ...extra } : undefined;
    };
    if (fp.method === IMAGE_FINGERPRINT_METHOD || fp.method === TEXT_FINGERPRINT_METHOD) {
      const n = (fp.method === IMAGE_FINGERPRINT_METHOD ? this.images : this.texts).nearest(hashFromBytes(fp.bytes));
      const max = fp.method === IMAGE_FINGERPRINT_METHOD ? IMAGE_MAX_DISTANCE : TEXT_MAX_DISTANCE;
      return n && n.distance <= max ? found(n.rowid, { distance: n.distance }) : undefined;
    }
    if (fp.method === AUDIO_FINGERPRINT_METHOD) {
      const q = audioFromBytes(fp.bytes);
      let best: { rowid: number; ber: number; frames: number } | undefined;
      for (const a of this.audio) {
        const m = bestAudioAlignment(q, a.index);
        if (m && m.frames >= AUDIO_MIN_FRAMES && m.ber <= AUDIO_MAX_BER && (!best || m.ber < best.ber)) best = { rowid: a.rowid, ber: m.ber, frames: m.frames };
      }
      return best ? found(best.rowid, { ber: Number(best.ber.toFixed(4)), frames: best.frames }) : undefined;
    }
    if (fp.method === VIDEO_FINGERPRINT_METHOD) {
      const q = hashesFromBytes(fp.bytes);
      const need = Math.max(2, Math.ceil(q.length * VIDEO_MIN_MATCHED_SHARE));
      let best: { rowid: number; matched: number; meanDistance: number } | undefined;
      for (const v of this.video) {
        const m = videoFramesMatched(q, v.hashes, IMAGE_MAX_DISTANCE);
        if (m.matched >= need && (!best || m.matched > best.matched || (m.matched === best.matched && m.meanDistance < best.meanDistance))) best = { rowid: v.rowid, ...m };
      }
      return best ? found(best.rowid, { distance: Number(best.meanDistance.toFixed(2)), framesMatched: best.matched, frames: q.length }) : undefined;
    }
    return undefined;
  }

  /** Exact match first, then the nearest fingerprint; the fingerprint is computed only when needed. */
  async lookup(kind: MediaKind, format: Format | undefined, m: MediaBytes): Promise<LedgerMatch | undefined> {
    const exact = this.exact(await sha256Of(m));
    if (exact || !this.hasFingerprints(kind)) return exact;
    const fp = await fingerprintMedia(kind, format, m);
    return fp ? this.nearest(fp) : undefined;
  }

  close(): void {
    this.store.close();
  }
}

/** Open read-only ledgers of this thread, by absolute path (a scan opens each once; worker threads once each). */
const readers = new Map<string, LedgerIndex>();

/** The thread's read-only index of a ledger, opened on first use. Throws LEDGER_FAILED. */
export function ledgerReader(path: string): LedgerIndex {
  const key = resolve(path);
  let r = readers.get(key);
  if (!r) {
    r = new LedgerIndex(LedgerStore.open(path, { readonly: true }));
    r.refresh();
    readers.set(key, r);
  }
  return r;
}

export function isLedgerReaderOpen(path: string): boolean {
  return readers.has(resolve(path));
}

export function closeLedgerReader(path: string): void {
  const key = resolve(path);
  readers.get(key)?.close();
  readers.delete(key);
}

/**
 * Records a labelled output. A fingerprint that cannot be computed (undecodable pixels, ffmpeg
 * failure) leaves the entry with its SHA-256 only, so exact copies are still recognised.
 */
export async function recordLabelOutput(store: LedgerStore, p: Provenance, kind: MediaKind, format: Format, output: MediaBytes): Promise<{ rowid: number; fingerprint?: string }> {
  let sha256: Uint8Array;
  try {
    sha256 = await sha256Of(output);
  } catch (e) {
    throw ledgerError(store.path, 'cannot read the labelled output', e);
  }
  const fingerprint = await fingerprintMedia(kind, format, output).catch(() => undefined);
  const rowid = store.record({
    contentId: p.contentId,
    sha256,
    kind,
    format,
    ...(fingerprint ? { fingerprint } : {}),
    ...(p.provider ? { provider: p.provider } : {}),
    ...(p.generator ? { generator: p.generator.version ? `${p.generator.name}/${p.generator.version}` : p.generator.name } : {}),
    createdAt: p.createdAt,
  });
  return fingerprint ? { rowid, fingerprint: fingerprint.method } : { rowid };
}
