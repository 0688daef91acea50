/**
 * The worker thread that runs pdf.js for PDF detection. pdf.js decodes what a page's content
 * streams say with no bound of its own: a 123 KB file whose content stream is a 100000x100000
 * JBIG2 image (pdf.js's bomb_giant.pdf) grows past 10 GB in one synchronous loop. In a thread of
 * its own the main thread can stop it (adapters/pdf.ts terminates it past a time or memory
 * bound); the document's metadata is sent first, so a page-text pass that is stopped or fails
 * never takes the label in the metadata with it.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { getProperty, NS, parseXmp, valueText } from '../metadata/xmp.js';

export interface PdfTextRequest {
  id: number;
  /** The whole file, or a path the worker reads itself (large files, through range reads). */
  data?: Uint8Array;
  path?: string;
  /** Squashed phrases that count as a stamp. */
  phrases: string[];
  /** Pages to read (1-based); undefined: every page. */
  pages?: number[] | 'first-last';
  /** pdf.js options of the caller. */
  wholeParseLimit: number;
  rangeChunk: number;
}

export interface PdfDocumentFacts {
  xmp?: string;
  info: Record<string, unknown>;
  /** The name of an embedded file that is a JUMBF box (a C2PA store). */
  jumbfAttachment?: string;
  numPages: number;
}

export type PdfTextMessage =
  | { id: number; type: 'facts'; facts: PdfDocumentFacts }
  | { id: number; type: 'pages'; pagesWith: number[]; pagesWithout: number[]; unread?: string }
  | { id: number; type: 'error'; name: string; message: string };

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let lib: Promise<PdfJs> | undefined;

const squash = (s: string) => s.toLowerCase().replace(/\s+/g, '');

async function open(req: PdfTextRequest) {
  const pdfjs = await (lib ??= import('pdfjs-dist/legacy/build/pdf.mjs'));
  const common = { disableFontFace: true, verbosity: 0, isEvalSupported: false, useSystemFonts: false, stopAtErrors: false } as const;
  let source: Parameters<PdfJs['getDocument']>[0];
  let fd: number | undefined;
  if (req.data) source = { data: req.data, ...common };
  else {
    fd = openSync(req.path!, 'r');
    const size = fstatSync(fd).size;
    const read = (begin: number, end: number) => {
      const b = Buffer.alloc(Math.max(0, Math.min(end, size) - begin));
      readSync(fd!, b, 0, b.length, begin);
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    };
    if (size <= req.wholeParseLimit) source = { data: read(0, size), ...common };
    else {
      const transport = new pdfjs.PDFDataRangeTransport(size, read(0, Math.min(size, req.rangeChunk)));
      transport.requestDataRange = (begin: number, end: number) => transport.onDataRange(begin, read(begin, end));
      source = { range: transport, length: size, rangeChunkSize: req.rangeChunk, disableAutoFetch: true, disableStream: true, ...common };
    }
  }
  const task = pdfjs.getDocument(source);
  try {
    return { doc: await task.promise, close: () => (fd !== undefined ? closeSync(fd) : undefined) };
  } catch (e) {
    await task.destroy();
    if (fd !== undefined) closeSync(fd);
    throw e;
  }
}

async function handle(req: PdfTextRequest): Promise<void> {
  const post = (m: PdfTextMessage) => parentPort!.postMessage(m);
  const { doc, close } = await open(req);
  try {
    const meta = await doc.getMetadata().catch(() => undefined);
    const raw = (meta?.metadata as { getRaw?: () => string } | undefined)?.getRaw?.();
    const attachments = (await doc.getAttachments().catch(() => null)) as Record<string, { content?: Uint8Array }> | null;
    const store = Object.entries(attachments ?? {}).find(([, a]) => a.content && a.content.length > 8 && Buffer.from(a.content.subarray(4, 8)).toString('latin1') === 'jumb');
    const info = JSON.parse(JSON.stringify(meta?.info ?? {})) as Record<string, unknown>;
    post({ id: req.id, type: 'facts', facts: { ...(raw ? { xmp: raw } : {}), info, ...(store ? { jumbfAttachment: store[0] } : {}), numPages: doc.numPages } });
    // A custom disclosure the label wrote (tamga:disclosure) counts as a stamp too.
    const phrases = [...req.phrases];
    try {
      const own = raw ? valueText(getProperty(parseXmp(Buffer.from(raw, 'utf8')), NS.tamga, 'disclosure')) : undefined;
      if (own) phrases.unshift(squash(own));
    } catch {
      /* a malformed packet is reported by the caller */
    }
    const n = doc.numPages;
    const pages = req.pages === 'first-last' ? [...new Set([1, n])].filter((p) => p >= 1) : (req.pages ?? Array.from({ length: n }, (_, i) => i + 1));
    const pagesWith: number[] = [];
    const pagesWithout: number[] = [];
    let unread: string | undefined;
    for (const i of pages) {
      try {
        const content = await (await doc.getPage(i)).getTextContent();
        const s = squash(content.items.map((it) => ('str' in it ? it.str : '')).join(''));
        (phrases.some((ph) => s.includes(ph)) ? pagesWith : pagesWithout).push(i);
      } catch (e) {
        // One page pdf.js cannot read (a broken or cyclic page tree) ends the pass, not the detection.
        unread = `page ${i}: ${(e as Error).message}`;
        break;
      }
    }
    post({ id: req.id, type: 'pages', pagesWith, pagesWithout, ...(unread ? { unread } : {}) });
  } finally {
    await doc.destroy().catch(() => undefined);
    close();
  }
}

parentPort?.on('message', (req: PdfTextRequest) => {
  handle(req).catch((e: unknown) => {
    const err = e as { name?: string; message?: string };
    parentPort!.postMessage({ id: req.id, type: 'error', name: err?.name ?? 'Error', message: err?.message ?? String(e) } satisfies PdfTextMessage);
  });
});

// pdf.js leaves some rejected promises unawaited on broken page trees (see adapters/pdf.ts); here they are dropped.
process.on('unhandledRejection', () => undefined);

export default undefined;
