import { readFile, rm, writeFile, mkdtemp, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pdfPageText } from '../adapters/pdf.js';
import { openSource } from '../core/source.js';
import type { Format, MediaKind } from '../core/types.js';
import { AUDIO_FINGERPRINT_METHOD, audioFingerprint, audioToBytes } from './fingerprint-audio.js';
import { hashToBytes, IMAGE_FINGERPRINT_METHOD, imageFingerprint } from './fingerprint-image.js';
import { TEXT_FINGERPRINT_METHOD, textFingerprint } from './fingerprint-text.js';
import { hashesToBytes, VIDEO_FINGERPRINT_METHOD, videoFingerprint } from './fingerprint-video.js';

/**
 * The perceptual fingerprint of one labelled output or scanned file, by media kind. A PDF's is the
 * text simhash of its pages' text (pdf.js, the first PDF_MAX_PAGES pages), so a re-saved or
 * re-generated PDF matches, and so does its text pasted into a text file (same method).
 */
export interface Fingerprint {
  method: string;
  bytes: Uint8Array;
}

/** Where the media is: a path, its bytes, or both (bytes are preferred; a path is needed by ffmpeg). */
export interface MediaBytes {
  path?: string;
  bytes?: Uint8Array;
}

/** Pages of a PDF whose text is hashed (bounded time per file). */
export const PDF_MAX_PAGES = 50;
/** Text beyond this is not read for the fingerprint (the simhash reads the first 4 Mi characters). */
const TEXT_READ_LIMIT = 16 << 20;

async function readText(m: MediaBytes): Promise<string> {
  if (m.bytes) return Buffer.from(m.bytes.subarray(0, TEXT_READ_LIMIT)).toString('utf8');
  const fh = await open(m.path!, 'r');
  try {
    const buf = Buffer.alloc(Math.min(TEXT_READ_LIMIT, (await fh.stat()).size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** ffmpeg reads files: bytes without a path go to a private temp file for the call. */
async function withPath<T>(m: MediaBytes, f: (path: string) => Promise<T>): Promise<T> {
  if (m.path) return f(m.path);
  const dir = await mkdtemp(join(tmpdir(), 'tamga-fp-'));
  try {
    const path = join(dir, 'media');
    await writeFile(path, m.bytes!, { mode: 0o600 });
    return await f(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The fingerprint, or undefined when the medium has none (PDF) or this item is too small/flat to have one. Decode failures throw. */
export async function fingerprintMedia(kind: MediaKind, _format: Format | undefined, m: MediaBytes): Promise<Fingerprint | undefined> {
  if (!m.path && !m.bytes) return undefined;
  switch (kind) {
    case 'image': {
      const h = await imageFingerprint(m.bytes ?? (await readFile(m.path!)));
      return h === undefined ? undefined : { method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(h) };
    }
    case 'text': {
      const h = textFingerprint(await readText(m));
      return h === undefined ? undefined : { method: TEXT_FINGERPRINT_METHOD, bytes: hashToBytes(h) };
    }
    case 'audio': {
      const frames = await withPath(m, audioFingerprint);
      return frames.length ? { method: AUDIO_FINGERPRINT_METHOD, bytes: audioToBytes(frames) } : undefined;
    }
    case 'video': {
      const hashes = await withPath(m, videoFingerprint);
      return hashes.length ? { method: VIDEO_FINGERPRINT_METHOD, bytes: hashesToBytes(hashes) } : undefined;
    }
    case 'pdf': {
      const reader = await openSource(m.bytes ?? m.path!);
      try {
        const h = textFingerprint(await pdfPageText(reader, PDF_MAX_PAGES));
        return h === undefined ? undefined : { method: TEXT_FINGERPRINT_METHOD, bytes: hashToBytes(h) };
      } finally {
        await reader.close();
      }
    }
    default:
      return undefined;
  }
}
