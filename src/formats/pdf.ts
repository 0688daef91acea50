import { corrupt } from '../core/errors.js';
import { latin1 } from '../core/bytes.js';
import type { ByteReader } from '../core/source.js';

/**
 * PDF file structure tamga needs without a full parser: the last cross-reference section (where
 * it is, table or stream, its trailer keys) and an incremental-update writer (ISO 32000-1 §7.5.6).
 * An incremental update appends new and changed objects, a cross-reference section for them and
 * a trailer whose /Prev points at the previous section, so every earlier byte, and with it every
 * signature's /ByteRange digest, stays as it was.
 */

/** startxref must sit in the last 1024 bytes (§7.5.5); real files sometimes trail some garbage. */
const TAIL_BYTES = 4096;

export interface PdfTail {
  /** Offset of the last cross-reference section (the startxref value). */
  startxref: number;
  /** Whether that section is a cross-reference stream (PDF 1.5+) rather than a table. */
  xrefStream: boolean;
  /** Raw trailer (or xref stream) dictionary text, for key checks such as /Encrypt. */
  trailer: string;
  /** Whether the last byte of the file is an end-of-line. */
  endsWithEol: boolean;
  /** The startxref was missing or wrong; `startxref` is the last section found in the file (-1: none). */
  repaired?: boolean;
}

/** How far back from the end a lost cross-reference section is looked for. */
const REPAIR_SEARCH_BYTES = 8 << 20;

/** The section a `startxref` offset points at, or undefined when there is none. */
function sectionAt(section: string, startxref: number, tail: string, at: number): Omit<PdfTail, 'endsWithEol'> | undefined {
  if (section.startsWith('xref')) {
    const t = section.indexOf('trailer');
    // The table may be longer than what we read: then look for the trailer just before startxref.
    const trailerText = t >= 0 ? section.slice(t) : at >= 0 ? tail.slice(tail.lastIndexOf('trailer', at)) : '';
    if (!trailerText.startsWith('trailer')) return undefined;
    return { startxref, xrefStream: false, trailer: dictText(trailerText.slice(7)) };
  }
  if (/^\d+\s+\d+\s+obj/.test(section)) {
    const d = section.indexOf('<<');
    if (d < 0) return undefined;
    const trailer = dictText(section.slice(d));
    if (!/\/Type\s*\/XRef\b/.test(trailer)) return undefined;
    return { startxref, xrefStream: true, trailer };
  }
  return undefined;
}

/**
 * The last cross-reference section of a file whose startxref is missing or wrong, found the way
 * qpdf and poppler recover: the last `xref` keyword at a line start, or the last object whose
 * dictionary says /Type /XRef, whichever comes later.
 */
async function findLastXrefSection(reader: ByteReader): Promise<Omit<PdfTail, 'endsWithEol'> | undefined> {
  const from = Math.max(0, reader.size - REPAIR_SEARCH_BYTES);
  const text = latin1(await reader.read(from, reader.size - from));
  const candidates: number[] = [];
  for (const m of text.matchAll(/(?:^|[\r\n])xref[\r\n ]/g)) candidates.push(m.index + (m[0][0] === 'x' ? 0 : 1));
  for (const m of text.matchAll(/\/Type\s*\/XRef\b/g)) {
    const objAt = text.lastIndexOf(' obj', m.index);
    if (objAt < 0) continue;
    const head = /(\d+)\s+(\d+)$/.exec(text.slice(Math.max(0, objAt - 24), objAt));
    if (head) candidates.push(objAt - head[0].length);
  }
  for (const c of candidates.sort((a, b) => b - a)) {
    const found = sectionAt(text.slice(c, c + (64 << 10)), from + c, text, -1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Reads the end of a PDF: the startxref offset and the dictionary of the section it points at.
 * A startxref that is missing or points at nothing is repaired from the last section in the file
 * (`repaired`), as readers do: an incremental update chained to that section reads as the
 * original does, with the new objects last.
 */
export async function readPdfTail(reader: ByteReader, opts: { allowNone?: boolean } = {}): Promise<PdfTail> {
  const tailStart = Math.max(0, reader.size - TAIL_BYTES);
  const tail = latin1(await reader.read(tailStart, reader.size - tailStart));
  const last = tail.charCodeAt(tail.length - 1);
  const endsWithEol = last === 0x0a || last === 0x0d;
  const at = tail.lastIndexOf('startxref');
  const m = at >= 0 ? /^startxref\s+(\d+)/.exec(tail.slice(at)) : null;
  const startxref = m ? Number(m[1]) : NaN;
  if (Number.isSafeInteger(startxref) && startxref < reader.size) {
    const section = latin1(await reader.read(startxref, Math.min(64 << 10, reader.size - startxref)));
    const found = sectionAt(section, startxref, tail, at);
    if (found) return { ...found, endsWithEol };
  }
  const repaired = await findLastXrefSection(reader);
  if (repaired) return { ...repaired, endsWithEol, repaired: true };
  // No section at all: readers rebuild the table from the objects; so can a writer (see scanObjectOffsets).
  if (opts.allowNone) return { startxref: -1, xrefStream: false, trailer: '', endsWithEol, repaired: true };
  if (at < 0) throw corrupt('pdf', 'no startxref near the end of the file, and no cross-reference section to recover');
  throw corrupt('pdf', `startxref ${m?.[1] ?? '(no offset)'} does not point at a cross-reference section, and none was found to recover`, tailStart + at);
}

/** The text of the first balanced << ... >> in `s` (strings and nested dictionaries respected). */
function dictText(s: string): string {
  const start = s.indexOf('<<');
  if (start < 0) return '';
  let depth = 0;
  for (let i = start; i < s.length - 1; i++) {
    const c = s[i];
    if (c === '(') {
      // Literal string: skip to its balanced end.
      let d = 1;
      for (i++; i < s.length && d > 0; i++) {
        if (s[i] === '\\') i++;
        else if (s[i] === '(') d++;
        else if (s[i] === ')') d--;
      }
      i--;
    } else if (c === '<' && s[i + 1] === '<') {
      depth++;
      i++;
    } else if (c === '>' && s[i + 1] === '>') {
      depth--;
      i++;
      if (depth === 0) return s.slice(start, i + 1);
    }
  }
  return s.slice(start);
}

/**
 * Every `n g obj` in the file and where it starts, the last definition of a number winning: the
 * cross-reference table qpdf and poppler rebuild for a file whose own is lost or wrong. Undefined
 * when the file has object streams, whose objects such a table cannot address.
 */
export function scanObjectOffsets(bytes: Uint8Array): Map<number, { off: number; gen: number }> | undefined {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (/\/Type\s*\/ObjStm\b/.test(text)) return undefined;
  const out = new Map<number, { off: number; gen: number }>();
  for (const m of text.matchAll(/(^|[\r\n])[ \t]*(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+obj\b/g)) {
    const num = Number(m[2]);
    if (num > 0 && num < 1 << 23) out.set(num, { off: m.index + m[1]!.length + (m[0].length - m[0].trimStart().length - m[1]!.length), gen: Number(m[3]) });
  }
  return out;
}

/**
 * Whether the last cross-reference table's in-use entries point where `scan` found the objects:
 * false when one points elsewhere (a file whose table qpdf and poppler must rebuild).
 */
export function xrefTableMatches(bytes: Uint8Array, tail: PdfTail, scan: Map<number, { off: number; gen: number }>): boolean {
  if (tail.xrefStream || tail.startxref < 0) return true;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', tail.startxref, Math.min(bytes.length, tail.startxref + (16 << 20)));
  const re = /(\d+)[ \t]+(\d+)[ \t]*\r?\n|(\d{10})[ \t](\d{5})[ \t]([nf])/g;
  re.lastIndex = 4;
  let num = 0;
  for (let m = re.exec(text); m && m.index < text.indexOf('trailer'); m = re.exec(text)) {
    if (m[1] !== undefined) {
      num = Number(m[1]);
      continue;
    }
    if (m[5] === 'n' && num > 0) {
      const found = scan.get(num);
      if (!found || found.off !== Number(m[3])) return false;
    }
    num++;
  }
  return true;
}

export const isEncrypted = (t: PdfTail): boolean => /\/Encrypt[\s/<\d]/.test(t.trailer);

export interface UpdateObject {
  num: number;
  gen: number;
  /** The serialised object body (what goes between `n g obj` and `endobj`). */
  body: Uint8Array;
}

export interface UpdateTrailer {
  size: number;
  root: string;
  info?: string;
  /** The original /ID array, kept (§14.4: the first string stays for the document's life). */
  id?: string;
}

const enc = (s: string) => Buffer.from(s, 'latin1');

/** Groups sorted object numbers into [first, count] runs for /Index and table subsections. */
function runs(nums: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const n of nums) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === n) last[1]++;
    else out.push([n, 1]);
  }
  return out;
}

/**
 * The bytes to append to a PDF of `baseSize` bytes: the objects, a cross-reference section of
 * the same kind as the previous one (table or stream, so readers that handle the file today handle
 * it after), and a trailer chained to `tail.startxref` with /Prev.
 */
export function buildIncrementalUpdate(baseSize: number, tail: PdfTail, objects: UpdateObject[], trailer: UpdateTrailer, rebuilt?: Map<number, { off: number; gen: number }>): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = baseSize;
  const push = (b: Uint8Array) => {
    parts.push(b);
    pos += b.length;
  };
  if (!tail.endsWithEol) push(enc('\n'));
  const sorted = [...objects].sort((a, b) => a.num - b.num);
  const offsets = new Map<number, { off: number; gen: number }>();
  for (const o of sorted) {
    offsets.set(o.num, { off: pos, gen: o.gen });
    push(enc(`${o.num} ${o.gen} obj\n`));
    push(o.body);
    push(enc('\nendobj\n'));
  }
  const xrefAt = pos;
  if (rebuilt) {
    // The file's own table is lost or wrong: a complete table of every object (no /Prev), the
    // one readers would rebuild, with the new objects in it.
    const all = new Map(rebuilt);
    for (const [n, e] of offsets) all.set(n, e);
    const size = Math.max(trailer.size, ...[...all.keys()].map((n) => n + 1));
    let table = `xref\n0 ${size}\n0000000000 65535 f\r\n`;
    for (let n = 1; n < size; n++) {
      const e = all.get(n);
      table += e ? `${String(e.off).padStart(10, '0')} ${String(e.gen).padStart(5, '0')} n\r\n` : '0000000000 00000 f\r\n';
    }
    const dict = `/Size ${size} /Root ${trailer.root}${trailer.info ? ` /Info ${trailer.info}` : ''}${trailer.id ? ` /ID ${trailer.id}` : ''}`;
    push(enc(`${table}trailer\n<< ${dict} >>\nstartxref\n${xrefAt}\n%%EOF\n`));
    return Buffer.concat(parts);
  }
  const common = `/Size ${trailer.size} /Root ${trailer.root}${trailer.info ? ` /Info ${trailer.info}` : ''}${trailer.id ? ` /ID ${trailer.id}` : ''} /Prev ${tail.startxref}`;
  if (!tail.xrefStream) {
    let table = 'xref\n';
    for (const [first, count] of runs(sorted.map((o) => o.num))) {
      table += `${first} ${count}\n`;
      for (let n = first; n < first + count; n++) {
        const e = offsets.get(n)!;
        table += `${String(e.off).padStart(10, '0')} ${String(e.gen).padStart(5, '0')} n\r\n`;
      }
    }
    push(enc(`${table}trailer\n<< ${common} >>\nstartxref\n${xrefAt}\n%%EOF\n`));
  } else {
    // The cross-reference stream is itself a new object and lists itself.
    const xrefNum = trailer.size;
    offsets.set(xrefNum, { off: xrefAt, gen: 0 });
    const nums = [...sorted.map((o) => o.num), xrefNum];
    const width = [1, 4, 2];
    const data = Buffer.alloc(nums.length * 7);
    nums.forEach((n, i) => {
      const e = offsets.get(n)!;
      data[i * 7] = 1;
      data.writeUInt32BE(e.off, i * 7 + 1);
      data.writeUInt16BE(e.gen, i * 7 + 5);
    });
    const index = runs(nums).flat().join(' ');
    const dict = `<< /Type /XRef /Size ${xrefNum + 1} /Root ${trailer.root}${trailer.info ? ` /Info ${trailer.info}` : ''}${trailer.id ? ` /ID ${trailer.id}` : ''} /Prev ${tail.startxref} /Index [${index}] /W [${width.join(' ')}] /Length ${data.length} >>`;
    push(enc(`${xrefNum} 0 obj\n${dict}\nstream\n`));
    push(data);
    push(enc(`\nendstream\nendobj\nstartxref\n${xrefAt}\n%%EOF\n`));
  }
  const out = Buffer.concat(parts);
  return out;
}
