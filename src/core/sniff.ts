import { extname } from 'node:path';
import type { SniffResult } from './types.js';
import { ascii, startsWith, u32be } from './bytes.js';

/** How many leading bytes `sniff` wants to see. */
export const SNIFF_BYTES = 64;

const at = (head: Uint8Array, off: number, s: string) => startsWith(head, ascii(s), off);

const BMFF_BRANDS: Record<string, SniffResult> = {
  avif: { kind: 'image', format: 'avif', mime: 'image/avif' },
  avis: { kind: 'image', format: 'avif', mime: 'image/avif' },
  heic: { kind: 'image', format: 'heif', mime: 'image/heic' },
  heix: { kind: 'image', format: 'heif', mime: 'image/heic' },
  mif1: { kind: 'image', format: 'heif', mime: 'image/heif' },
  msf1: { kind: 'image', format: 'heif', mime: 'image/heif' },
  'qt  ': { kind: 'video', format: 'mov', mime: 'video/quicktime' },
  'M4A ': { kind: 'audio', format: 'm4a', mime: 'audio/mp4' },
  'M4B ': { kind: 'audio', format: 'm4a', mime: 'audio/mp4' },
};

/**
 * Identifies a container from its magic bytes. The file name is only a tie-breaker for formats
 * without a signature (plain text); a wrong extension never overrides the bytes.
 */
export function sniff(head: Uint8Array, name?: string): SniffResult | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { kind: 'image', format: 'jpeg', mime: 'image/jpeg' };
  if (startsWith(head, Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))) return { kind: 'image', format: 'png', mime: 'image/png' };
  if (at(head, 0, 'GIF87a') || at(head, 0, 'GIF89a')) return { kind: 'image', format: 'gif', mime: 'image/gif' };
  if (at(head, 0, 'II*\0') || at(head, 0, 'MM\0*') || at(head, 0, 'II+\0') || at(head, 0, 'MM\0+')) return { kind: 'image', format: 'tiff', mime: 'image/tiff' };
  if (at(head, 0, 'RIFF') && head.length >= 12) {
    if (at(head, 8, 'WEBP')) return { kind: 'image', format: 'webp', mime: 'image/webp' };
    if (at(head, 8, 'WAVE')) return { kind: 'audio', format: 'wav', mime: 'audio/wav' };
    if (at(head, 8, 'AVI ')) return { kind: 'video', format: 'avi', mime: 'video/x-msvideo' };
  }
  if (at(head, 0, 'BM') && head.length >= 14) return { kind: 'image', format: 'bmp', mime: 'image/bmp' };
  if (startsWith(head, Uint8Array.of(0xff, 0x0a)) || (head.length >= 12 && at(head, 4, 'JXL '))) return { kind: 'image', format: 'jxl', mime: 'image/jxl' };
  if (head.length >= 12 && at(head, 4, 'ftyp')) {
    const brand = String.fromCharCode(...head.subarray(8, 12));
    const known = BMFF_BRANDS[brand];
    if (known) return known;
    // Compatible brands decide for generic major brands (e.g. 'mif1' listed after another).
    const boxEnd = Math.min(u32be(head, 0), head.length);
    for (let o = 16; o + 4 <= boxEnd; o += 4) {
      const b = BMFF_BRANDS[String.fromCharCode(...head.subarray(o, o + 4))];
      if (b && b.kind === 'image') return b;
    }
    return { kind: 'video', format: 'mp4', mime: 'video/mp4' };
  }
  if (at(head, 0, 'ID3') || (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe6) === 0xe2)) return { kind: 'audio', format: 'mp3', mime: 'audio/mpeg' };
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xf6) === 0xf0) return { kind: 'audio', format: 'aac', mime: 'audio/aac' };
  if (at(head, 0, 'fLaC')) return { kind: 'audio', format: 'flac', mime: 'audio/flac' };
  if (at(head, 0, 'OggS')) return { kind: 'audio', format: 'ogg', mime: 'audio/ogg' };
  if (startsWith(head, Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3))) {
    const isWebm = latin1Head(head).includes('webm');
    return isWebm ? { kind: 'video', format: 'webm', mime: 'video/webm' } : { kind: 'video', format: 'mkv', mime: 'video/x-matroska' };
  }
  if (at(head, 0, '%PDF-')) return { kind: 'pdf', format: 'pdf', mime: 'application/pdf' };
  const text = latin1Head(head).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(text)) return { kind: 'image', format: 'svg', mime: 'image/svg+xml' };
  if (looksLikeText(head)) {
    const ext = name ? extname(name).toLowerCase() : '';
    const mime = ext === '.html' || ext === '.htm' ? 'text/html' : ext === '.md' ? 'text/markdown' : ext === '.json' ? 'application/json' : ext === '.srt' ? 'application/x-subrip' : ext === '.vtt' || text.startsWith('WEBVTT') ? 'text/vtt' : 'text/plain';
    return { kind: 'text', format: 'text', mime };
  }
  return undefined;
}

function latin1Head(head: Uint8Array): string {
  return Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
}

/** UTF-8 (or ASCII) without NULs or C0 controls other than tab/newline/CR/FF. */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  for (const c of head) if (c === 0 || (c < 0x20 && c !== 9 && c !== 10 && c !== 13 && c !== 12)) return false;
  // A cut multi-byte sequence at the end of the head is fine; elsewhere invalid UTF-8 is not text.
  const s = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const bad = (s.slice(0, -2).match(/\uFFFD/g) ?? []).length;
  return bad === 0;
}

/**
 * The size of a leading ID3v2 tag (header, body, v2.4 footer) from its 10-byte header, or 0.
 * Some FLAC writers put one before `fLaC` (c2pa-rs reads it; RFC 9639 does not define it).
 */
export function id3TagLength(head: Uint8Array): number {
  if (head.length < 10 || !at(head, 0, 'ID3') || (head[6]! | head[7]! | head[8]! | head[9]!) & 0x80) return 0;
  const size = ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
  return 10 + size + (head[3] === 4 && head[5]! & 0x10 ? 10 : 0);
}

/** PDF readers (pdf.js, poppler, qpdf) find the header within the first 1024 bytes. */
const PDF_HEADER_REACH = 1024;

/**
 * Second looks that need more than the head: a file sniffed as MP3 for its leading ID3v2 tag is
 * FLAC when `fLaC` follows the tag; bytes before `%PDF-` (a mail header, a BOM, junk) do not
 * make a PDF text, when the header is at a line start within 1024 bytes and `%%EOF` ends the file.
 */
export async function refineSniff(s: SniffResult | undefined, reader: { size: number; read(offset: number, length: number): Promise<Uint8Array> }): Promise<SniffResult | undefined> {
  if (s?.format === 'mp3') {
    const tagEnd = id3TagLength(await reader.read(0, Math.min(10, reader.size)));
    if (tagEnd && tagEnd + 4 <= reader.size && at(await reader.read(tagEnd, 4), 0, 'fLaC')) return { kind: 'audio', format: 'flac', mime: 'audio/flac' };
    return s;
  }
  if (s && s.kind !== 'text') return s;
  const head = latin1Head(await reader.read(0, Math.min(PDF_HEADER_REACH, reader.size)));
  if (!/(?:^|[\r\n])%PDF-\d\.\d/.test(head)) return s;
  const tailFrom = Math.max(0, reader.size - 1024);
  const tail = latin1Head(await reader.read(tailFrom, reader.size - tailFrom));
  return tail.includes('%%EOF') ? { kind: 'pdf', format: 'pdf', mime: 'application/pdf' } : s;
}
