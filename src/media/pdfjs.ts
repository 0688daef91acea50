import type { ByteReader } from '../core/source.js';
import { TamgaError } from '../core/errors.js';
import { isEncrypted, readPdfTail } from '../formats/pdf.js';

/**
 * pdf.js (pdfjs-dist) for reading PDFs: opening a document from a ByteReader (whole or by range
 * requests), its parse errors as CORRUPT_INPUT, and the page text. The PDF adapter's detection and
 * the ledger's PDF fingerprint both read through here.
 */

export function encryptedError(name: string): TamgaError {
  return new TamgaError('ENCRYPTED_INPUT', `${name}: the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt), label it, and encrypt the labelled file again`, { format: 'pdf' });
}

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
export async function pdfJsCall<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (!isPdfJsParseError(e)) throw e;
    throw new TamgaError('CORRUPT_INPUT', `${name}: pdf: ${(e as Error).message}`, { format: 'pdf' }, { cause: e });
  }
}

const RANGE_CHUNK = 64 << 10;
/**
 * Files up to this size are handed to pdf.js whole. Its range-request mode retries a read that a
 * broken file can never satisfy in an endless microtask loop (a self-extending object stream found
 * by the fuzzer hangs the process); given the whole file it reports the damage instead.
 */
const WHOLE_PARSE_LIMIT = 32 << 20;

/** pdf.js reads small files whole, and larger ones through range requests on the ByteReader: only the parts it needs. */
export async function openWithPdfJs(reader: ByteReader) {
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

