/**
 * bench/pdf: labelling and detection throughput on one 1,000-page PDF, next to pdf-lib loading and
 * saving the same file (the floor: any pdf-lib based writer parses the whole document once).
 * Run: npm run bench:pdf [-- --pages 1000]
 * Labelling appends an incremental update (stamp streams shared by pages of the same geometry,
 * one font subset set, XMP, Info), so it costs one pdf-lib parse plus the new objects, not a
 * rewrite; detection reads through pdf.js range requests and extracts each page's text.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { FileReader } from '../src/core/source.js';
import { pdfAdapter } from '../src/adapters/pdf.js';
import { detect, label } from '../src/index.js';

const argP = process.argv.indexOf('--pages');
const PAGES = argP > 0 ? Number(process.argv[argP + 1]) : 1000;

async function makeDocument(pages: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.TimesRoman);
  for (let i = 0; i < pages; i++) {
    const p = doc.addPage([595, 842]);
    for (let l = 0; l < 40; l++) p.drawText(`Page ${i + 1}, line ${l + 1}: the quick brown fox jumps over the lazy dog.`, { x: 50, y: 780 - l * 18, size: 11, font });
  }
  return doc.save({ useObjectStreams: true });
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const work = mkdtempSync(join(tmpdir(), 'tamga-bench-pdf-'));
try {
  const src = join(work, 'big.pdf');
  writeFileSync(src, await makeDocument(PAGES));
  const size = statSync(src).size;
  const out = join(work, 'labelled.pdf');
  // Warm-up (module loading, font parsing) so each figure measures the steady state.
  await label(src, {}, { output: out });

  const floor = await time(async () => {
    const { readFileSync } = await import('node:fs');
    const doc = await PDFDocument.load(readFileSync(src), { updateMetadata: false });
    writeFileSync(join(work, 'resaved.pdf'), await doc.save());
  });
  const labelled = await time(() => label(src, {}, { output: out }));
  const detected = await time(() => detect(out));
  const stamp = detected.value.findings.find((f) => f.kind === 'pdf:page-stamp')?.value as { pagesWith: number[] } | undefined;
  if (stamp?.pagesWith.length !== PAGES) throw new Error(`detect found the stamp on ${stamp?.pagesWith.length ?? 0} of ${PAGES} pages`);
  const headers = await time(() => detect(out, { visible: false }));
  const reader = await FileReader.open(out);
  await pdfAdapter.detect(reader, 'pdf', { visible: false });
  const metadataBytes = reader.bytesRead;
  await reader.close();

  const pps = (ms: number) => (PAGES / (ms / 1000)).toFixed(0);
  const outSize = statSync(out).size;
  console.log(`${PAGES}-page PDF, ${(size / 1e6).toFixed(1)} MB (labelled +${((outSize - size) / 1024).toFixed(0)} KiB as an incremental update)`);
  console.log(`pdf-lib load+save (floor)    ${floor.ms.toFixed(0).padStart(6)} ms  ${pps(floor.ms).padStart(7)} pages/s`);
  console.log(`tamga label                  ${labelled.ms.toFixed(0).padStart(6)} ms  ${pps(labelled.ms).padStart(7)} pages/s  ratio to floor ${(floor.ms / labelled.ms).toFixed(2)}x`);
  console.log(`tamga detect (text of pages) ${detected.ms.toFixed(0).padStart(6)} ms  ${pps(detected.ms).padStart(7)} pages/s  ratio to floor ${(floor.ms / detected.ms).toFixed(2)}x`);
  console.log(`tamga detect (metadata only) ${headers.ms.toFixed(0).padStart(6)} ms  read ${(metadataBytes / 1024).toFixed(0)} KiB of ${(outSize / 1024).toFixed(0)} KiB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
