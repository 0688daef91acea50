import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { decodePDFRawStream, EncryptedPDFError, PDFArray, PDFDict, PDFDocument, PDFHexString, PDFName, PDFNumber, PDFRawStream, PDFRef, PDFStream, PDFString, type PDFFont, type PDFObject, type PDFPage } from 'pdf-lib';
import { TamgaError } from '../core/errors.js';
import { digitalSourceTypeUri, type Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, Layer } from '../core/types.js';
import { DISCLOSURE_LANGS, disclosureTexts } from '../disclosure/catalogue.js';
import { WRITABLE_SOURCE_TYPES } from '../core/provenance.js';
import { fontBytes, fontkit, fontRuns } from '../disclosure/pdf-fonts.js';
import { buildIncrementalUpdate, isEncrypted, readPdfTail, scanObjectOffsets, xrefTableMatches, type UpdateObject } from '../formats/pdf.js';
import { findingsFromXmp, mergeXmp, parseXmp } from '../metadata/xmp.js';
import { c2paStoreFindings, xmpLabelFor } from './image.js';
import type { PdfDocumentFacts, PdfTextMessage, PdfTextRequest } from './pdf-text-worker.js';
import type { LabelSteps, MediaAdapter, ResolvedLabelOptions, StepOutput } from './types.js';

/**
 * PDF: a disclosure stamp on every page, an XMP metadata stream in the catalog and Info keys,
 * all written as one incremental update (ISO 32000-1 §7.5.6) appended to the untouched original.
 * That keeps every existing signature valid (their /ByteRange covers only original bytes) and
 * costs the size of the new objects, not a rewrite of the document. pdf-lib parses and builds the
 * objects; formats/pdf.ts writes the update. Detection uses pdf.js with range reads.
 */

/** Info dictionary keys (labelling-standards.md §2.11: our convention, not a standard). */
const INFO_KEYS = { generated: 'AIGenerated', disclosure: 'AIDisclosure', sourceType: 'AIDigitalSourceType', contentId: 'AIContentId' } as const;
const XMP_PADDING = 2048;
const STAMP_FONT_PREFIX = 'TamgaF';
const STAMP_GS = 'TamgaGS';

function encryptedError(name: string): TamgaError {
  return new TamgaError('ENCRYPTED_INPUT', `${name}: the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt), label it, and encrypt the labelled file again`, { format: 'pdf' });
}

async function loadPdf(bytes: Uint8Array, name: string): Promise<PDFDocument> {
  try {
    return await PDFDocument.load(bytes, { updateMetadata: false, throwOnInvalidObject: true });
  } catch (e) {
    if (e instanceof EncryptedPDFError || /Input document to `PDFDocument.load` is encrypted/.test((e as Error).message)) throw encryptedError(name);
    throw new TamgaError('CORRUPT_INPUT', `${name}: pdf: cannot parse the document: ${(e as Error).message}`, { format: 'pdf' }, { cause: e });
  }
}

function serialize(obj: PDFObject): Uint8Array {
  const out = new Uint8Array(obj.sizeInBytes());
  obj.copyBytesInto(out, 0);
  return out;
}

/** A page's visible area in user space (CropBox clipped to MediaBox, corners in any order). */
function visibleBox(page: PDFPage): { x0: number; y0: number; x1: number; y1: number } {
  const nums = (a: PDFArray | undefined) => a?.asArray().map((o) => (o instanceof PDFNumber ? o.asNumber() : NaN));
  const media = nums(page.node.MediaBox()) ?? [0, 0, 612, 792];
  const crop = nums(page.node.CropBox()) ?? media;
  const norm = (b: number[]) => ({ x0: Math.min(b[0]!, b[2]!), y0: Math.min(b[1]!, b[3]!), x1: Math.max(b[0]!, b[2]!), y1: Math.max(b[1]!, b[3]!) });
  const m = norm(media);
  const c = norm(crop);
  const box = { x0: Math.max(m.x0, c.x0), y0: Math.max(m.y0, c.y0), x1: Math.min(m.x1, c.x1), y1: Math.min(m.y1, c.y1) };
  if (![box.x0, box.y0, box.x1, box.y1].every(Number.isFinite) || box.x1 - box.x0 < 1 || box.y1 - box.y0 < 1) return m;
  return box;
}

/**
 * The matrix from display coordinates (u right, v up, origin at the bottom-left of the page as a
 * viewer shows it after /Rotate) to user space, and the displayed width and height.
 */
function displayFrame(page: PDFPage): { cm: number[]; w: number; h: number } {
  const { x0, y0, x1, y1 } = visibleBox(page);
  const rot = (((page.getRotation().angle % 360) + 360) % 360) as 0 | 90 | 180 | 270;
  const [w, h] = [x1 - x0, y1 - y0];
  switch (rot) {
    case 90:
      return { cm: [0, 1, -1, 0, x1, y0], w: h, h: w };
    case 180:
      return { cm: [-1, 0, 0, -1, x1, y1], w, h };
    case 270:
      return { cm: [0, -1, 1, 0, x0, y1], w: h, h: w };
    default:
      return { cm: [1, 0, 0, 1, x0, y0], w, h };
  }
}

const num = (n: number) => (Math.round(n * 1000) / 1000).toString();

interface StampFonts {
  runs: { font: PDFFont; name: string; text: string }[];
  width(size: number): number;
}

/** The operators of one band: a translucent white strip with the line on it, in display coordinates. */
function bandOperators(fonts: StampFonts, frame: { cm: number[]; w: number; h: number }, at: 'bottom' | 'top', maxSize: number): string {
  const margin = Math.min(18, frame.w * 0.04);
  let size = Math.max(4, Math.min(maxSize, Math.min(frame.w, frame.h) * 0.018));
  const width = fonts.width(size);
  // Long lines and narrow pages: shrink to fit the width (never below 3 pt).
  if (width > frame.w - 2 * margin) size = Math.max(3, (size * (frame.w - 2 * margin)) / width);
  const band = size * 1.9;
  const v0 = at === 'bottom' ? 0 : frame.h - band;
  const textW = fonts.width(size);
  const u = Math.max(margin, (frame.w - textW) / 2);
  const ops = [`q`, `${frame.cm.map(num).join(' ')} cm`, `/${STAMP_GS} gs`, `1 1 1 rg`, `0 ${num(v0)} ${num(frame.w)} ${num(band)} re f`, `0.08 0.08 0.08 rg`, `BT`, `${num(u)} ${num(v0 + size * 0.6)} Td`];
  for (const r of fonts.runs) ops.push(`/${r.name} ${num(size)} Tf`, `${r.font.encodeText(r.text).toString()} Tj`);
  ops.push('ET', 'Q');
  return ops.join('\n') + '\n';
}

async function stampFonts(doc: PDFDocument, line: string, cache: Map<string, PDFFont>): Promise<StampFonts> {
  const runs: StampFonts['runs'] = [];
  for (const r of fontRuns(line)) {
    let font = cache.get(r.file);
    if (!font) {
      font = await doc.embedFont(fontBytes(r.file), { subset: true });
      cache.set(r.file, font);
    }
    runs.push({ font, name: `${STAMP_FONT_PREFIX}${[...cache.keys()].indexOf(r.file)}`, text: r.text });
  }
  return { runs, width: (size) => runs.reduce((s, r) => s + r.font.widthOfTextAtSize(r.text, size), 0) };
}

const text = (s: string) => PDFHexString.fromText(s);

const STAMP_MARK = Buffer.from(`/${STAMP_GS} gs`, 'latin1');

/** Re-labelling replaces the stamp an earlier run drew (ours are unfiltered and start with our graphics state). */
function dropEarlierStamps(doc: PDFDocument, page: PDFPage): void {
  const contents = page.node.Contents();
  if (!(contents instanceof PDFArray)) return;
  const kept = contents.asArray().filter((r) => {
    const s = doc.context.lookup(r);
    if (!(s instanceof PDFRawStream) || s.dict.has(PDFName.of('Filter'))) return true;
    return !Buffer.from(s.contents.subarray(0, 200)).includes(STAMP_MARK);
  });
  if (kept.length !== contents.size()) page.node.set(PDFName.of('Contents'), doc.context.obj(kept));
}

/**
 * A C2PA manifest rides in a PDF as an associated file (catalog /AF, /AFRelationship
 * /C2PA_Manifest) whose hard binding hashes the file's bytes: our update changes them. As for
 * images: refuse by default, or strip the manifest (the /AF entry and its EmbeddedFiles name), or
 * go on and leave it invalidated.
 */
function c2paManifestRefs(doc: PDFDocument): PDFObject[] {
  const af = doc.catalog.lookupMaybe(PDFName.of('AF'), PDFArray);
  if (!af) return [];
  return af.asArray().filter((o) => doc.context.lookupMaybe(o, PDFDict)?.get(PDFName.of('AFRelationship'))?.toString() === '/C2PA_Manifest');
}

/** Removes the manifests' /AF entries and their EmbeddedFiles names (onExistingC2pa 'strip'). */
function stripC2paManifests(doc: PDFDocument, manifests: readonly PDFObject[]): void {
  const ctx = doc.context;
  const af = doc.catalog.lookupMaybe(PDFName.of('AF'), PDFArray);
  if (!af || !manifests.length) return;
  const refs = new Set(manifests.map((m) => m.toString()));
  const kept = af.asArray().filter((o) => !refs.has(o.toString()));
  if (kept.length) doc.catalog.set(PDFName.of('AF'), ctx.obj(kept));
  else doc.catalog.delete(PDFName.of('AF'));
  const files = doc.catalog.lookupMaybe(PDFName.of('Names'), PDFDict)?.lookupMaybe(PDFName.of('EmbeddedFiles'), PDFDict);
  const names = files?.lookupMaybe(PDFName.of('Names'), PDFArray);
  if (files && names) {
    const pairs = names.asArray();
    const keptPairs: PDFObject[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) if (!refs.has(pairs[i + 1]!.toString())) keptPairs.push(pairs[i]!, pairs[i + 1]!);
    files.set(PDFName.of('Names'), ctx.obj(keptPairs));
  }
}

/**
 * pdf-lib walks what the document says without guarding every shape: a page tree whose Kids point
 * back up overflows the stack, a wrong object type is a TypeError. Past the parse, any such
 * failure is a defect of the input.
 */
async function asStructureError<T>(reader: ByteReader, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof TamgaError) throw e;
    throw new TamgaError('CORRUPT_INPUT', `${reader.name}: pdf: cannot label this document's structure: ${(e as Error).message}`, { format: 'pdf' }, { cause: e });
  }
}

/** Cross-reference stream field widths are at most 8 bytes; /Index counts beyond this are no real document. */
const MAX_XREF_WIDTH = 8;
const MAX_XREF_ENTRIES = 1 << 24;

/**
 * pdf-lib reads cross-reference streams entry by entry for the /W widths and /Index counts the
 * dictionary states, without checking them against the stream: /W [4294967295 4 2] (found by the
 * fuzzer) is a synchronous loop of billions. Refuse such dictionaries before parsing.
 */
function checkXrefStreamDictionaries(bytes: Uint8Array, name: string): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const refuse = (what: string) => new TamgaError('CORRUPT_INPUT', `${name}: pdf: cross-reference stream with ${what}`, { format: 'pdf' });
  // Only cross-reference stream dictionaries (/Type /XRef): a font's /W width array looks the
  // same (/W [1 [500] 3 10 600]) and is no business of this check.
  for (let at = b.indexOf('/XRef'); at >= 0; at = b.indexOf('/XRef', at + 5)) {
    const from = Math.max(0, at - 4096);
    const window = b.toString('latin1', from, Math.min(b.length, at + 4096));
    const rel = at - from;
    if (!/\/Type\s*$/.test(window.slice(Math.max(0, rel - 16), rel))) continue;
    const objAt = window.lastIndexOf('obj', rel);
    const streamAt = window.indexOf('stream', rel);
    const dict = window.slice(objAt < 0 ? 0 : objAt, streamAt < 0 ? window.length : streamAt);
    const w = /\/W\s*\[\s*(\d+)\s+(\d+)\s+(\d+)/.exec(dict);
    if (w && [w[1], w[2], w[3]].some((x) => Number(x) > MAX_XREF_WIDTH)) throw refuse(`field widths ${w[0].slice(2).trim()}]`);
    const list = /\/Index\s*\[([\d\s]*)\]/.exec(dict);
    const nums = list ? list[1]!.trim().split(/\s+/).map(Number) : [];
    let entries = 0;
    for (let i = 1; i < nums.length; i += 2) entries += nums[i]!;
    if (entries > MAX_XREF_ENTRIES) throw refuse(`${entries} entries in /Index`);
  }
}

/**
 * The Info dictionary an earlier trailer names when the last one does not (a linearised file
 * keeps /Info in its first-page section): reused, since a second Info dictionary is one too many
 * (exiftool: "Ignored duplicate Info dictionary").
 */
function earlierInfoRef(bytes: Uint8Array, doc: PDFDocument): PDFRef | undefined {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const refs = [...text.matchAll(/\/Info\s+(\d+)\s+(\d+)\s+R/g)].reverse();
  for (const m of refs) {
    const ref = PDFRef.of(Number(m[1]), Number(m[2]));
    if (doc.context.lookupMaybe(ref, PDFDict)) return ref;
  }
  return undefined;
}

/**
 * PDF's steps: the document is parsed once here; its layers (page stamps, XMP and Info) are then
 * one incremental update. A PDF has no watermark carrier, and c2pa-rs does not embed a manifest
 * in PDF.
 */
function preparePdf(reader: ByteReader, _format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<LabelSteps> {
  return asStructureError(reader, async () => {
    const parsed = await parsePdf(reader);
    const manifests = c2paManifestRefs(parsed.doc);
    return {
      ...(manifests.length ? { existingC2pa: 'pdf:AF' } : {}),
      cannot: { watermark: 'a PDF has no pixel, sample or character watermark carrier', c2pa: 'c2pa-rs cannot embed a manifest in PDF' },
      combined: (_input, layers, stripC2pa) => asStructureError(reader, () => labelPdfDocument(reader, parsed, p, opts, layers, stripC2pa ? manifests : [])),
    };
  });
}

interface ParsedPdf {
  doc: PDFDocument;
  bytes: Uint8Array;
  tail: Awaited<ReturnType<typeof readPdfTail>>;
  rebuilt: ReturnType<typeof scanObjectOffsets> | undefined;
  declaredSize: number;
  firstNew: number;
  before: Map<number, Buffer>;
}

async function parsePdf(reader: ByteReader): Promise<ParsedPdf> {
  const tail = await readPdfTail(reader, { allowNone: true });
  if (isEncrypted(tail)) throw encryptedError(reader.name);
  const bytes = await reader.read(0, reader.size);
  checkXrefStreamDictionaries(bytes, reader.name);
  // A lost or wrong startxref: the update carries a complete, rebuilt table instead of a /Prev
  // into the broken one (with object streams that cannot be done: then /Prev to the section found).
  // So does a table whose entries point away from their objects.
  const scanned = scanObjectOffsets(bytes);
  const rebuilt = scanned && (tail.repaired || !xrefTableMatches(bytes, tail, scanned)) ? scanned : undefined;
  if (tail.startxref < 0 && !rebuilt) throw new TamgaError('CORRUPT_INPUT', `${reader.name}: pdf: no cross-reference section and object streams a rebuilt table cannot address`, { format: 'pdf' });
  const doc = await loadPdf(bytes, reader.name);
  // A catalog without a page tree opens in no reader (pdf.js: "Invalid Root reference", poppler:
  // "Top-level pages object is wrong type"): a label there could never be read back.
  if (!doc.catalog.lookupMaybe(PDFName.of('Pages'), PDFDict)) throw new TamgaError('CORRUPT_INPUT', `${reader.name}: pdf: the catalog has no page tree (/Pages)`, { format: 'pdf' });
  doc.registerFontkit(fontkit());
  const ctx = doc.context;
  const declaredSize = Number(/\/Size\s+(\d+)/.exec(tail.trailer)?.[1] ?? 0);
  // New objects get numbers above every number the file has used (free entries are not reused).
  ctx.largestObjectNumber = Math.max(ctx.largestObjectNumber, declaredSize - 1);
  const firstNew = ctx.largestObjectNumber + 1;
  const before = new Map<number, Buffer>();
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) if (!(obj instanceof PDFStream)) before.set(ref.objectNumber, Buffer.from(serialize(obj)));
  return { doc, bytes, tail, rebuilt, declaredSize, firstNew, before };
}

async function labelPdfDocument(reader: ByteReader, parsed: ParsedPdf, p: Provenance, opts: ResolvedLabelOptions, layers: ReadonlySet<Layer>, stripManifests: readonly PDFObject[]): Promise<StepOutput> {
  const { doc, bytes, tail, rebuilt, declaredSize, firstNew, before } = parsed;
  const ctx = doc.context;
  stripC2paManifests(doc, stripManifests);
  const label = xmpLabelFor(p, opts);
  if (layers.has('visible')) {
    const cache = new Map<string, PDFFont>();
    const fonts = await stampFonts(doc, label.disclosure.line, cache);
    const notice = opts.firstPageNotice ? await stampFonts(doc, label.disclosure.line, cache) : undefined;
    const gs = ctx.register(ctx.obj({ Type: 'ExtGState', ca: 0.85, CA: 0.85 }));
    // Pages with the same box and rotation share one stamp stream.
    const streams = new Map<string, PDFRef>();
    doc.getPages().forEach((page, i) => {
      const frame = displayFrame(page);
      const key = `${frame.cm.join(',')}|${frame.w}|${frame.h}|${i === 0 && notice ? 'notice' : ''}`;
      let ref = streams.get(key);
      if (!ref) {
        let ops = bandOperators(fonts, frame, 'bottom', 10);
        if (i === 0 && notice) ops += bandOperators(notice, frame, 'top', 16);
        ref = ctx.register(ctx.stream(ops));
        streams.set(key, ref);
      }
      for (const [file, font] of cache) page.node.setFontDictionary(PDFName.of(`${STAMP_FONT_PREFIX}${[...cache.keys()].indexOf(file)}`), font.ref);
      page.node.setExtGState(PDFName.of(STAMP_GS), gs);
      dropEarlierStamps(doc, page);
      page.node.addContentStream(ref);
    });
  }
  if (layers.has('metadata')) {
    const existing = doc.catalog.lookup(PDFName.of('Metadata'));
    let packet: Uint8Array | undefined;
    if (existing instanceof PDFRawStream) {
      try {
        packet = decodePDFRawStream(existing).decode();
      } catch (e) {
        throw new TamgaError('CORRUPT_INPUT', `${reader.name}: pdf: the XMP metadata stream cannot be decoded: ${(e as Error).message}`, { format: 'pdf' }, { cause: e });
      }
    }
    const xmp = mergeXmp(packet, label, { padding: XMP_PADDING });
    // Uncompressed, so byte scanners find it (labelling-standards.md §2.11).
    const xmpRef = ctx.register(ctx.stream(xmp, { Type: 'Metadata', Subtype: 'XML' }));
    doc.catalog.set(PDFName.of('Metadata'), xmpRef);
    const infoRef = ctx.trailerInfo.Info ?? earlierInfoRef(bytes, doc);
    let info = infoRef ? ctx.lookupMaybe(infoRef, PDFDict) : undefined;
    if (!info) info = ctx.obj({});
    info.set(PDFName.of(INFO_KEYS.generated), text('true'));
    info.set(PDFName.of(INFO_KEYS.disclosure), text(label.disclosure.line));
    info.set(PDFName.of(INFO_KEYS.sourceType), text(digitalSourceTypeUri(p.digitalSourceType)));
    info.set(PDFName.of(INFO_KEYS.contentId), text(p.contentId));
    if (!info.has(PDFName.of('Subject'))) info.set(PDFName.of('Subject'), text(label.disclosure.line));
    ctx.trailerInfo.Info = infoRef instanceof PDFRef ? infoRef : ctx.register(info);
  }
  await doc.flush();

  const objects: UpdateObject[] = [];
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) {
    const isNew = ref.objectNumber >= firstNew;
    if (!isNew && (obj instanceof PDFStream || before.get(ref.objectNumber)?.equals(serialize(obj)))) continue;
    objects.push({ num: ref.objectNumber, gen: ref.generationNumber, body: serialize(obj) });
  }
  const root = ctx.trailerInfo.Root;
  if (!root) throw new TamgaError('CORRUPT_INPUT', `${reader.name}: pdf: the trailer has no /Root`, { format: 'pdf' });
  const info = ctx.trailerInfo.Info;
  const id = ctx.trailerInfo.ID;
  const update = buildIncrementalUpdate(reader.size, tail, objects, {
    size: Math.max(ctx.largestObjectNumber + 1, declaredSize),
    root: root.toString(),
    ...(info ? { info: info.toString() } : {}),
    ...(id ? { id: id.toString() } : {}),
  }, rebuilt);
  return { plan: [{ copy: [0, reader.size] }, { bytes: update }] };
}

// ------------------------------------------------------------------------------------------ detect

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjsModule: Promise<PdfJs> | undefined;
const pdfjs = () => (pdfjsModule ??= (ignorePdfJsStrayRejections(), import('pdfjs-dist/legacy/build/pdf.mjs')));

/** The exceptions pdf.js raises on a malformed document (its BaseException subclasses). */
const PDFJS_PARSE_ERRORS = new Set(['FormatError', 'ParserEOFException', 'XRefEntryException', 'XRefParseException', 'MissingDataException', 'InvalidPDFException', 'UnknownErrorException', 'JpegError', 'JpxError', 'Jbig2Error']);
export const isPdfJsParseError = (e: unknown): boolean => e instanceof Error && PDFJS_PARSE_ERRORS.has(e.name);

/**
 * pdf.js 4.9 prefetches the last kid of the page tree into a cache and never awaits it when the
 * walk fails first (a cyclic or broken tree): a rejected promise nobody handles, which ends a
 * Node process. Those rejections are dropped; any other keeps Node's default (thrown) unless the
 * application listens for them itself.
 */
function ignorePdfJsStrayRejections(): void {
  process.on('unhandledRejection', (reason) => {
    if (isPdfJsParseError(reason)) return;
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  });
}

/** A pdf.js call on an opened document: its parse errors are CORRUPT_INPUT, like a failed open. */
async function pdfJsCall<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (!isPdfJsParseError(e)) throw e;
    throw new TamgaError('CORRUPT_INPUT', `${name}: pdf: ${(e as Error).message}`, { format: 'pdf' }, { cause: e });
  }
}

/** Phrases that count as a stamp: the catalogue in every language, lower-cased, spaces removed. */
const STAMP_PHRASES: string[] = (() => {
  const set = new Set<string>();
  for (const dst of WRITABLE_SOURCE_TYPES) for (const len of ['long', 'short'] as const) for (const d of disclosureTexts(dst, DISCLOSURE_LANGS, len)) set.add(squash(d.text));
  return [...set];
})();

function squash(s: string): string {
  return s.toLowerCase().replace(/\s+/g, '');
}

const RANGE_CHUNK = 64 << 10;
/**
 * Files up to this size are handed to pdf.js whole. Its range-request mode retries a read that a
 * broken file can never satisfy in an endless microtask loop (a self-extending object stream found
 * by the fuzzer hangs the process); given the whole file it reports the damage instead.
 */
const WHOLE_PARSE_LIMIT = 32 << 20;

/** pdf.js reads small files whole, and larger ones through range requests on the ByteReader: only the parts it needs. */
async function openWithPdfJs(reader: ByteReader) {
  const lib = await pdfjs();
  const common = { disableFontFace: true, verbosity: 0, isEvalSupported: false, useSystemFonts: false, stopAtErrors: false } as const;
  let source: Parameters<typeof lib.getDocument>[0];
  if (reader.size <= WHOLE_PARSE_LIMIT) {
    source = { data: Uint8Array.from(await reader.read(0, reader.size)), ...common };
  } else {
    const initial = await reader.read(0, Math.min(reader.size, RANGE_CHUNK));
    const transport = new lib.PDFDataRangeTransport(reader.size, Uint8Array.from(initial));
    transport.requestDataRange = (begin: number, end: number) => {
      reader.read(begin, Math.min(end, reader.size) - begin).then(
        (b) => transport.onDataRange(begin, Uint8Array.from(b)),
        () => transport.abort(),
      );
    };
    source = { range: transport, length: reader.size, rangeChunkSize: RANGE_CHUNK, disableAutoFetch: true, disableStream: true, ...common };
  }
  const task = lib.getDocument(source);
  try {
    return await task.promise;
  } catch (e) {
    await task.destroy();
    const name = (e as { name?: string }).name;
    if (name === 'PasswordException') throw encryptedError(reader.name);
    throw new TamgaError('CORRUPT_INPUT', `${reader.name}: pdf: ${(e as Error).message}`, { format: 'pdf' }, { cause: e });
  }
}

const INFO_FINDINGS: Record<string, { kind: string; layer: Finding['layer'] }> = {
  [INFO_KEYS.generated]: { kind: 'pdf:info-ai-generated', layer: 'metadata' },
  [INFO_KEYS.disclosure]: { kind: 'pdf:info-ai-disclosure', layer: 'metadata' },
  [INFO_KEYS.sourceType]: { kind: 'pdf:info-ai-digital-source-type', layer: 'metadata' },
  [INFO_KEYS.contentId]: { kind: 'pdf:info-ai-content-id', layer: 'metadata' },
  Producer: { kind: 'pdf:info-producer', layer: 'signal' },
  Creator: { kind: 'pdf:info-creator', layer: 'signal' },
};

/** Bounds of one PDF's pdf.js pass in the worker thread (adapters/pdf-text-worker.ts). */
export const PDF_PASS_LIMITS = { timeMs: 10_000, memoryBytes: 1536 * 2 ** 20 };
/** How often the memory bound is checked while a pass runs. */
const MEMORY_POLL_MS = 100;

interface PdfPass {
  facts: PdfDocumentFacts;
  pages?: { pagesWith: number[]; pagesWithout: number[] };
  /** Why the page text was not read (whole or in part): a note, not an error. */
  unread?: string;
}

/**
 * One pdf.js worker thread, started on first use and kept (unref'd) for the next file; one
 * document at a time, so a document stopped for its time or memory takes no other with it.
 * A thread that is stopped or dies is replaced by a new one for the next document.
 */
class PdfJsThread {
  private worker: Worker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  private start(): Worker {
    const url = new URL(`./pdf-text-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    const viaTsx = url.pathname.endsWith('.ts');
    const w = viaTsx
      ? new Worker(new URL('../../bin/ts-worker.mjs', import.meta.url), { workerData: { tsModule: url.href }, resourceLimits: { maxOldGenerationSizeMb: 1024 } })
      : new Worker(url, { resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    w.unref();
    w.on('error', () => undefined);
    w.on('exit', () => {
      if (this.worker === w) this.worker = undefined;
    });
    return (this.worker = w);
  }

  /** Documents queued or running on this thread. */
  pending = 0;

  run(req: Omit<PdfTextRequest, 'id'>, name: string): Promise<PdfPass> {
    this.pending++;
    const task = this.queue.then(() => this.runNow({ ...req, id: this.nextId++ }, name)).finally(() => this.pending--);
    this.queue = task.catch(() => undefined);
    return task;
  }

  private runNow(req: PdfTextRequest, name: string): Promise<PdfPass> {
    const w = this.worker ?? this.start();
    return new Promise<PdfPass>((resolve, reject) => {
      let facts: PdfDocumentFacts | undefined;
      const rss0 = process.memoryUsage.rss();
      const finish = (stopWhy?: string) => {
        clearTimeout(timer);
        clearInterval(poll);
        w.off('message', onMessage);
        w.off('exit', onExit);
        if (stopWhy) {
          this.worker = undefined;
          void w.terminate();
          if (facts) resolve({ facts, unread: stopWhy });
          else reject(new TamgaError('INPUT_TOO_LARGE', `${name}: pdf: the document could not be opened: ${stopWhy}`, { format: 'pdf' }));
        }
      };
      const onMessage = (m: PdfTextMessage) => {
        if (m.id !== req.id) return;
        if (m.type === 'facts') facts = m.facts;
        else if (m.type === 'pages') {
          finish();
          resolve({ facts: facts!, pages: { pagesWith: m.pagesWith, pagesWithout: m.pagesWithout }, ...(m.unread ? { unread: m.unread } : {}) });
        } else {
          finish();
          if (m.name === 'PasswordException') reject(encryptedError(name));
          else if (facts) resolve({ facts, unread: m.message });
          else reject(new TamgaError('CORRUPT_INPUT', `${name}: pdf: ${m.message}`, { format: 'pdf' }));
        }
      };
      const onExit = () => finish(`the pdf.js thread stopped (out of memory?)`);
      const timer = setTimeout(() => finish(`not read within ${PDF_PASS_LIMITS.timeMs} ms`), PDF_PASS_LIMITS.timeMs);
      const poll = setInterval(() => {
        if (process.memoryUsage.rss() - rss0 > PDF_PASS_LIMITS.memoryBytes) finish(`stopped past ${PDF_PASS_LIMITS.memoryBytes >> 20} MiB of memory`);
      }, MEMORY_POLL_MS);
      w.on('message', onMessage);
      w.on('exit', onExit);
      w.postMessage(req);
    });
  }
}

/**
 * pdf.js threads: two where the machine has the cores, so a scan of a PDF archive uses them (the
 * main thread mostly waits on these); each document goes to the least busy one.
 */
const pdfJsThreads: PdfJsThread[] = [];
function pdfJsThread(): PdfJsThread {
  const limit = Math.max(1, Math.min(2, availableParallelism()));
  const idle = pdfJsThreads.find((t) => t.pending === 0);
  if (idle) return idle;
  if (pdfJsThreads.length < limit) {
    const t = new PdfJsThread();
    pdfJsThreads.push(t);
    return t;
  }
  return pdfJsThreads.reduce((a, b) => (b.pending < a.pending ? b : a));
}

/** The catalog's XMP and the Info strings as pdf-lib reads them; undefined when it cannot or there are none. */
async function factsViaPdfLib(bytes: Uint8Array): Promise<PdfDocumentFacts | undefined> {
  try {
    checkXrefStreamDictionaries(bytes, 'pdf');
    const doc = await PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: false, throwOnInvalidObject: true });
    const stream = doc.catalog.lookup(PDFName.of('Metadata'));
    const xmp = stream instanceof PDFRawStream ? Buffer.from(decodePDFRawStream(stream).decode()).toString('utf8') : undefined;
    const info: Record<string, unknown> = {};
    const dict = doc.context.trailerInfo.Info ? doc.context.lookupMaybe(doc.context.trailerInfo.Info, PDFDict) : undefined;
    for (const [k, v] of dict?.entries() ?? []) if (v instanceof PDFHexString || v instanceof PDFString) info[k.decodeText()] = v.decodeText();
    if (!xmp && !Object.keys(info).length) return undefined;
    return { ...(xmp ? { xmp } : {}), info, numPages: doc.getPageCount() };
  } catch {
    return undefined;
  }
}

async function detectPdf(reader: ByteReader, _format: Format, opts: DetectOptions): Promise<Finding[]> {
  // A missing or wrong startxref is repaired by pdf.js as by qpdf and poppler; only /Encrypt matters here.
  const tail = await readPdfTail(reader).catch((e: unknown) => {
    if (e instanceof TamgaError) return undefined;
    throw e;
  });
  if (tail && isEncrypted(tail)) throw encryptedError(reader.name);
  const pass = await pdfJsThread()
    .run(
    {
      // A file the worker reads itself (no copy through this thread); a buffer is copied over.
      ...(reader.path ? { path: reader.path } : { data: Uint8Array.from(await reader.read(0, reader.size)) }),
      phrases: STAMP_PHRASES,
      ...(opts.visible === false ? { pages: [] } : opts.pdfStampPages === 'first-last' ? { pages: 'first-last' as const } : {}),
      wholeParseLimit: WHOLE_PARSE_LIMIT,
      rangeChunk: RANGE_CHUNK,
    },
    reader.name,
  )
    .catch(async (e: unknown) => {
      // pdf.js cannot open it (in time): the label may still be there for pdf-lib, which reads
      // the objects in file order; the page text is then a note.
      if (!(e instanceof TamgaError) || e.code === 'ENCRYPTED_INPUT' || reader.size > WHOLE_PARSE_LIMIT) throw e;
      const facts = await factsViaPdfLib(await reader.read(0, reader.size));
      if (!facts) throw e;
      const fallback: PdfPass = { facts, unread: e.message };
      return fallback;
    });
  const findings: Finding[] = [];
  const raw = pass.facts.xmp;
  if (raw) {
    try {
      const packet = parseXmp(Buffer.from(raw, 'utf8'));
      findings.push(...findingsFromXmp(packet, 'pdf:Metadata', !opts.labelsOnly));
    } catch (e) {
      if (!(e instanceof TamgaError)) throw e;
      findings.push({ layer: 'metadata', kind: 'xmp:malformed', value: e.message, confidence: 1, where: 'pdf:Metadata' });
    }
  }
  const info = pass.facts.info as Record<string, unknown> & { Custom?: Record<string, unknown> };
  const all: Record<string, unknown> = { ...info, ...(info.Custom ?? {}) };
  for (const [key, f] of Object.entries(INFO_FINDINGS)) {
    const v = all[key];
    if (typeof v !== 'string' || !v) continue;
    if (f.layer === 'signal' && opts.labelsOnly) continue;
    findings.push({ layer: f.layer, kind: f.kind, value: v, confidence: 1, where: 'pdf:Info' });
  }
  // A C2PA manifest store is a JUMBF box ('jumb' at byte 4) in an embedded file; only then is
  // the whole file read, for c2pa-rs to validate its hash binding.
  if (pass.facts.jumbfAttachment !== undefined) findings.push(...(await c2paStoreFindings(reader, 'pdf', `pdf:EmbeddedFile(${pass.facts.jumbfAttachment})`, opts)));
  if (opts.visible !== false) {
    if (pass.pages?.pagesWith.length) findings.push({ layer: 'visible', kind: 'pdf:page-stamp', value: pass.pages, confidence: 1, where: 'pdf:page-text' });
    // An optional pass that could not run is a note beside the other layers' findings (rule 4), not the file's error.
    if (pass.unread) findings.push({ layer: 'signal', kind: 'pdf:page-text-unread', value: pass.unread, confidence: 0, where: 'pdf:page-text' });
  }
  return findings;
}

/** The text of the first `maxPages` pages, a line per text line (the ledger's PDF fingerprint reads it). */
export async function pdfPageText(reader: ByteReader, maxPages: number): Promise<string> {
  const tail = await readPdfTail(reader);
  if (isEncrypted(tail)) throw encryptedError(reader.name);
  const doc = await openWithPdfJs(reader);
  try {
    const parts: string[] = [];
    for (let i = 1; i <= Math.min(doc.numPages, maxPages); i++) {
      const content = await pdfJsCall(reader.name, async () => (await doc.getPage(i)).getTextContent());
      parts.push(content.items.map((it) => ('str' in it ? it.str + (it.hasEOL ? '\n' : '') : '')).join(''));
    }
    return parts.join('\n');
  } finally {
    await doc.destroy();
  }
}

export const pdfAdapter: MediaAdapter = {
  kind: 'pdf',
  formats: ['pdf'],
  prepare: preparePdf,
  detect: detectPdf,
};
