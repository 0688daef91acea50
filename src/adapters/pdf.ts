import { decodePDFRawStream, EncryptedPDFError, PDFArray, PDFDict, PDFDocument, PDFHexString, PDFName, PDFNumber, PDFRawStream, PDFRef, PDFStream, type PDFFont, type PDFObject, type PDFPage } from 'pdf-lib';
import { TamgaError } from '../core/errors.js';
import { digitalSourceTypeUri, type Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, Layer } from '../core/types.js';
import { DISCLOSURE_LANGS, disclosureTexts } from '../disclosure/catalogue.js';
import { WRITABLE_SOURCE_TYPES } from '../core/provenance.js';
import { fontBytes, fontkit, fontRuns } from '../disclosure/pdf-fonts.js';
import { buildIncrementalUpdate, isEncrypted, readPdfTail, type UpdateObject } from '../formats/pdf.js';
import { encryptedError, openWithPdfJs, pdfJsCall } from '../media/pdfjs.js';
import { findingsFromXmp, mergeXmp, parseXmp, NS, getProperty, valueText } from '../metadata/xmp.js';
import { c2paStoreFindings, xmpLabelFor } from './image.js';
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

async function loadPdf(bytes: Uint8Array, name: string): Promise<PDFDocument> {
  try {
    return await PDFDocument.load(bytes, { updateMetadata: false, throwOnInvalidObject: true });
  } catch (e) {
    if (e instanceof EncryptedPDFError) throw encryptedError(name);
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
  for (let at = b.indexOf('/W'); at >= 0; at = b.indexOf('/W', at + 2)) {
    const w = /^\/W\s*\[\s*(\d+)\s+(\d+)\s+(\d+)/.exec(b.toString('latin1', at, at + 80));
    if (w && [w[1], w[2], w[3]].some((x) => Number(x) > MAX_XREF_WIDTH)) throw refuse(`field widths ${w[0].slice(2).trim()}]`);
  }
  for (let at = b.indexOf('/Index'); at >= 0; at = b.indexOf('/Index', at + 6)) {
    const list = /^\/Index\s*\[([\d\s]*)\]/.exec(b.toString('latin1', at, at + 4096));
    const nums = list ? list[1]!.trim().split(/\s+/).map(Number) : [];
    let entries = 0;
    for (let i = 1; i < nums.length; i += 2) entries += nums[i]!;
    if (entries > MAX_XREF_ENTRIES) throw refuse(`${entries} entries in /Index`);
  }
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
  tail: Awaited<ReturnType<typeof readPdfTail>>;
  declaredSize: number;
  firstNew: number;
  before: Map<number, Buffer>;
}

async function parsePdf(reader: ByteReader): Promise<ParsedPdf> {
  const tail = await readPdfTail(reader);
  if (isEncrypted(tail)) throw encryptedError(reader.name);
  const bytes = await reader.read(0, reader.size);
  checkXrefStreamDictionaries(bytes, reader.name);
  const doc = await loadPdf(bytes, reader.name);
  doc.registerFontkit(fontkit());
  const ctx = doc.context;
  const declaredSize = Number(/\/Size\s+(\d+)/.exec(tail.trailer)?.[1] ?? 0);
  // New objects get numbers above every number the file has used (free entries are not reused).
  ctx.largestObjectNumber = Math.max(ctx.largestObjectNumber, declaredSize - 1);
  const firstNew = ctx.largestObjectNumber + 1;
  const before = new Map<number, Buffer>();
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) if (!(obj instanceof PDFStream)) before.set(ref.objectNumber, Buffer.from(serialize(obj)));
  return { doc, tail, declaredSize, firstNew, before };
}

async function labelPdfDocument(reader: ByteReader, parsed: ParsedPdf, p: Provenance, opts: ResolvedLabelOptions, layers: ReadonlySet<Layer>, stripManifests: readonly PDFObject[]): Promise<StepOutput> {
  const { doc, tail, declaredSize, firstNew, before } = parsed;
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
    const infoRef = ctx.trailerInfo.Info;
    let info = infoRef ? ctx.lookupMaybe(infoRef, PDFDict) : undefined;
    if (!info) info = ctx.obj({});
    info.set(PDFName.of(INFO_KEYS.generated), text('true'));
    info.set(PDFName.of(INFO_KEYS.disclosure), text(label.disclosure.line));
    info.set(PDFName.of(INFO_KEYS.sourceType), text(digitalSourceTypeUri(p.digitalSourceType)));
    info.set(PDFName.of(INFO_KEYS.contentId), text(p.contentId));
    if (!info.has(PDFName.of('Subject'))) info.set(PDFName.of('Subject'), text(label.disclosure.line));
    if (!(infoRef instanceof PDFRef)) ctx.trailerInfo.Info = ctx.register(info);
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
  });
  return { plan: [{ copy: [0, reader.size] }, { bytes: update }] };
}

// ------------------------------------------------------------------------------------------ detect

/** Phrases that count as a stamp: the catalogue in every language, lower-cased, spaces removed. */
const STAMP_PHRASES: string[] = (() => {
  const set = new Set<string>();
  for (const dst of WRITABLE_SOURCE_TYPES) for (const len of ['long', 'short'] as const) for (const d of disclosureTexts(dst, DISCLOSURE_LANGS, len)) set.add(squash(d.text));
  return [...set];
})();

function squash(s: string): string {
  return s.toLowerCase().replace(/\s+/g, '');
}

const INFO_FINDINGS: Record<string, { kind: string; layer: Finding['layer'] }> = {
  [INFO_KEYS.generated]: { kind: 'pdf:info-ai-generated', layer: 'metadata' },
  [INFO_KEYS.disclosure]: { kind: 'pdf:info-ai-disclosure', layer: 'metadata' },
  [INFO_KEYS.sourceType]: { kind: 'pdf:info-ai-digital-source-type', layer: 'metadata' },
  [INFO_KEYS.contentId]: { kind: 'pdf:info-ai-content-id', layer: 'metadata' },
  Producer: { kind: 'pdf:info-producer', layer: 'signal' },
  Creator: { kind: 'pdf:info-creator', layer: 'signal' },
};

async function detectPdf(reader: ByteReader, _format: Format, opts: DetectOptions): Promise<Finding[]> {
  const tail = await readPdfTail(reader);
  if (isEncrypted(tail)) throw encryptedError(reader.name);
  const doc = await openWithPdfJs(reader);
  try {
    const findings: Finding[] = [];
    const meta = await doc.getMetadata().catch(() => undefined);
    let ownDisclosure: string | undefined;
    const raw = (meta?.metadata as { getRaw?: () => string } | undefined)?.getRaw?.();
    if (raw) {
      try {
        const packet = parseXmp(Buffer.from(raw, 'utf8'));
        findings.push(...findingsFromXmp(packet, 'pdf:Metadata', !opts.labelsOnly));
        ownDisclosure = valueText(getProperty(packet, NS.tamga, 'disclosure'));
      } catch (e) {
        if (!(e instanceof TamgaError)) throw e;
        findings.push({ layer: 'metadata', kind: 'xmp:malformed', value: e.message, confidence: 1, where: 'pdf:Metadata' });
      }
    }
    const info = (meta?.info ?? {}) as Record<string, unknown> & { Custom?: Record<string, unknown> };
    const all: Record<string, unknown> = { ...info, ...(info.Custom ?? {}) };
    for (const [key, f] of Object.entries(INFO_FINDINGS)) {
      const v = all[key];
      if (typeof v !== 'string' || !v) continue;
      if (f.layer === 'signal' && opts.labelsOnly) continue;
      findings.push({ layer: f.layer, kind: f.kind, value: v, confidence: 1, where: 'pdf:Info' });
    }
    // A C2PA manifest store is a JUMBF box ('jumb' at byte 4) in an embedded file; only then is
    // the whole file read, for c2pa-rs to validate its hash binding.
    const attachments = (await doc.getAttachments().catch(() => null)) as Record<string, { content?: Uint8Array }> | null;
    const store = Object.entries(attachments ?? {}).find(([, a]) => a.content && a.content.length > 8 && Buffer.from(a.content.subarray(4, 8)).toString('latin1') === 'jumb');
    if (store) findings.push(...(await c2paStoreFindings(reader, 'pdf', `pdf:EmbeddedFile(${store[0]})`, opts)));
    if (opts.visible !== false) {
      const phrases = ownDisclosure ? [squash(ownDisclosure), ...STAMP_PHRASES] : STAMP_PHRASES;
      const pagesWith: number[] = [];
      const pagesWithout: number[] = [];
      for (let i = 1; i <= doc.numPages; i++) {
        const content = await pdfJsCall(reader.name, async () => (await doc.getPage(i)).getTextContent());
        const s = squash(content.items.map((it) => ('str' in it ? it.str : '')).join(''));
        (phrases.some((ph) => s.includes(ph)) ? pagesWith : pagesWithout).push(i);
      }
      if (pagesWith.length) {
        findings.push({ layer: 'visible', kind: 'pdf:page-stamp', value: { pagesWith, pagesWithout }, confidence: 1, where: 'pdf:page-text' });
      }
    }
    return findings;
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
