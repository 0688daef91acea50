import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { degrees, PDFDocument, PDFHexString, PDFName, PDFString, StandardFonts } from 'pdf-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import type { Finding } from '../../src/core/types.js';
import { corpusFile, exiftool, exiftoolJson, expectTamgaError, hasCorpus, hasExiftool, TAM_URI, tempDir } from '../helpers.js';

const has = (cmd: string, arg = '-v') => spawnSync(cmd, [arg], { encoding: 'utf8' }).error === undefined;
const hasQpdf = has('qpdf', '--version');
const hasPoppler = has('pdfinfo') && has('pdftotext');
if (!hasQpdf) console.warn('[tamga tests] qpdf not found: PDF structure checks are SKIPPED (apt-get install qpdf)');
if (!hasPoppler) console.warn('[tamga tests] pdfinfo/pdftotext not found: PDF reader checks are SKIPPED (apt-get install poppler-utils)');

const { dir, cleanup } = tempDir('tamga-pdf-');
afterAll(cleanup);
const KK = 'Жасанды интеллект арқылы жасалған';
const RU = 'Создано с помощью искусственного интеллекта';
const LINE = `${KK} / ${RU}`;

/** Pages with rotations, odd box origins and sizes; `objectStreams` gives an xref-stream file. */
async function makePdf(objectStreams = false): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.setTitle('Quarterly notes');
  doc.setAuthor('A. Writer');
  const pages: [number, number, number, number, number, number?, number?][] = [
    [595, 842, 0, 0, 0],
    [842, 595, 90, 0, 0],
    [300, 400, 180, -100, 50],
    [612, 792, 270, 10, 20],
    [2000, 150, 0, 0, 0, 100, 10], // a banner with a CropBox inside the MediaBox
  ];
  pages.forEach(([w, h, rot, ox, oy, cx, cy], i) => {
    const p = doc.addPage([w, h]);
    p.setMediaBox(ox, oy, w, h);
    if (cx !== undefined) p.setCropBox(ox + cx, oy + cy!, w - 2 * cx, h - 2 * cy!);
    p.setRotation(degrees(rot));
    // Unbalanced graphics state in the page's own content: the stamp must not inherit it.
    p.pushOperators();
    p.drawText(`Page ${i + 1} body text`, { x: ox + 40, y: oy + h / 2, size: 14, font });
  });
  return doc.save({ useObjectStreams: objectStreams });
}

const pdftotextPages = (path: string, pages: number) =>
  Array.from({ length: pages }, (_, i) => execFileSync('pdftotext', ['-f', String(i + 1), '-l', String(i + 1), path, '-'], { encoding: 'utf8' }));

function stamp(findings: Finding[]) {
  return findings.find((f) => f.kind === 'pdf:page-stamp')?.value as { pagesWith: number[]; pagesWithout: number[] } | undefined;
}

describe('PDF adapter', () => {
  for (const objectStreams of [false, true]) {
    it(`labels a ${objectStreams ? 'cross-reference-stream' : 'classic-xref'} PDF by an incremental update readers accept`, async () => {
      const src = join(dir, `in-${objectStreams}.pdf`);
      const out = join(dir, `out-${objectStreams}.pdf`);
      const original = await makePdf(objectStreams);
      writeFileSync(src, original);
      const r = await label(src, { contentId: 'pdf-cid-1', generator: 'TestGen/2' }, { output: out, firstPageNotice: true });
      expect(r.layers).toEqual(['visible', 'metadata']);
      const bytes = readFileSync(out);
      // Incremental: the original is a byte-exact prefix.
      expect(bytes.subarray(0, original.length).equals(Buffer.from(original))).toBe(true);
      if (hasQpdf) expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toMatch(/No syntax or stream encoding errors/);
      if (hasPoppler) {
        const info = execFileSync('pdfinfo', [out], { encoding: 'utf8' });
        expect(info).toMatch(/Pages:\s+5/);
        expect(info).toMatch(/Title:\s+Quarterly notes/);
        expect(info).toMatch(/Author:\s+A\. Writer/);
        const texts = pdftotextPages(out, 5);
        texts.forEach((t, i) => {
          expect(t.replace(/\s+/g, ' ')).toContain(LINE);
          expect(t).toContain(`Page ${i + 1} body text`);
        });
        // The first page has the notice too: the line twice.
        expect(texts[0]!.split(KK).length - 1).toBe(2);
      }
      if (hasExiftool) {
        const x = exiftoolJson(out);
        expect(x['XMP-iptcExt:DigitalSourceType']).toBe(TAM_URI);
        expect(String(x['PDF:AIGenerated'])).toBe('true');
        expect(x['PDF:AIContentId']).toBe('pdf-cid-1');
        expect(x['PDF:Title']).toBe('Quarterly notes');
      }
      const d = await detect(out);
      expect(stamp(d.findings)).toEqual({ pagesWith: [1, 2, 3, 4, 5], pagesWithout: [] });
      const kinds = new Set(d.findings.map((f) => f.kind));
      for (const k of ['xmp:iptc-digital-source-type', 'xmp:tc260-aigc', 'xmp:tamga', 'xmp:iptc-ai-system', 'pdf:info-ai-generated', 'pdf:info-ai-disclosure', 'pdf:info-ai-content-id']) expect(kinds.has(k)).toBe(true);
      expect(d.findings.find((f) => f.kind === 'xmp:tamga')?.value).toMatchObject({ contentId: 'pdf-cid-1' });
    });
  }

  it('draws the stamp upright at the bottom of the page as displayed, whatever the rotation and box origin', async () => {
    const out = await label(await makePdf(), {}, {});
    const lib = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const doc = await lib.getDocument({ data: Uint8Array.from(out.data!), verbosity: 0 }).promise;
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      const vp = page.getViewport({ scale: 1 });
      const items = (await page.getTextContent()).items.filter((it) => 'str' in it && it.str.includes('Жасанды')) as { transform: number[] }[];
      expect(items.length).toBeGreaterThan(0);
      const t = lib.Util.transform(vp.transform, items[0]!.transform);
      // Upright in viewport space: no rotation (b = c = 0), x-scale positive.
      expect(Math.abs(t[1]!)).toBeLessThan(1e-6);
      expect(Math.abs(t[2]!)).toBeLessThan(1e-6);
      expect(t[0]!).toBeGreaterThan(0);
      // Baseline within the bottom band of the viewport (y grows downwards there).
      expect(t[5]!).toBeGreaterThan(vp.height * 0.9);
      expect(t[5]!).toBeLessThanOrEqual(vp.height);
      expect(t[4]!).toBeGreaterThanOrEqual(0);
      expect(t[4]!).toBeLessThan(vp.width);
    }
    await doc.destroy();
  });

  it('keeps an existing signature valid: the signed byte ranges are untouched and verify', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const doc = await PDFDocument.create();
    const page = doc.addPage([400, 300]);
    page.drawText('Signed contract', { x: 40, y: 150, size: 18 });
    const ctx = doc.context;
    const PLACEHOLDER = 1024;
    const sig = ctx.register(
      ctx.obj({
        Type: 'Sig',
        Filter: 'Adobe.PPKLite',
        SubFilter: 'adbe.pkcs7.detached',
        ByteRange: [0, 1111111111, 2222222222, 3333333333],
        Contents: PDFHexString.of('0'.repeat(PLACEHOLDER)),
        M: PDFString.fromDate(new Date(Date.UTC(2026, 0, 18))),
      }),
    );
    const widget = ctx.register(ctx.obj({ Type: 'Annot', Subtype: 'Widget', FT: 'Sig', Rect: [0, 0, 0, 0], V: sig, T: PDFString.of('Signature1'), F: 4, P: page.ref }));
    page.node.set(PDFName.of('Annots'), ctx.obj([widget]));
    doc.catalog.set(PDFName.of('AcroForm'), ctx.obj({ Fields: [widget], SigFlags: 3 }));
    const unsigned = Buffer.from(await doc.save({ useObjectStreams: false }));
    const s = unsigned.toString('latin1');
    const contentsAt = s.indexOf(`<${'0'.repeat(PLACEHOLDER)}>`);
    const contentsEnd = contentsAt + PLACEHOLDER + 2;
    const range = [0, contentsAt, contentsEnd, unsigned.length - contentsEnd];
    const rangeText = '[ 0 1111111111 2222222222 3333333333 ]';
    const rangeAt = s.indexOf(rangeText);
    expect(rangeAt).toBeGreaterThan(0);
    unsigned.write(`[${range.join(' ')}]`.padEnd(rangeText.length, ' '), rangeAt, 'latin1');
    const signedPart = (b: Buffer, r: number[]) => Buffer.concat([b.subarray(r[0]!, r[0]! + r[1]!), b.subarray(r[2]!, r[2]! + r[3]!)]);
    const signature = sign('sha256', signedPart(unsigned, range), privateKey);
    unsigned.write(signature.toString('hex').padEnd(PLACEHOLDER, '0'), contentsAt + 1, 'latin1');
    const signed = unsigned;
    const src = join(dir, 'signed.pdf');
    const out = join(dir, 'signed-labelled.pdf');
    writeFileSync(src, signed);
    await label(src, { contentId: 'signed-1' }, { output: out });
    const labelled = readFileSync(out);
    // Read the signature back from the labelled file as a verifier would.
    const l = labelled.toString('latin1');
    const br = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/.exec(l)!.slice(1).map(Number);
    expect(br).toEqual(range);
    const hex = l.slice(br[1]! + 1, br[2]! - 1).slice(0, 512);
    expect(verify('sha256', signedPart(labelled, br), publicKey, Buffer.from(hex, 'hex'))).toBe(true);
    // The signed revision ends where the ByteRange says; our update follows it.
    expect(br[2]! + br[3]!).toBe(signed.length);
    expect(labelled.length).toBeGreaterThan(signed.length);
    if (hasQpdf) execFileSync('qpdf', ['--check', out]);
    if (hasPoppler) expect(execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ')).toContain(LINE);
    expect(stamp((await detect(out)).findings)?.pagesWith).toEqual([1]);
  });

  it.skipIf(!hasExiftool)('merges with XMP another tool wrote (exiftool) and reports its DigitalSourceType', async () => {
    const src = join(dir, 'third-party.pdf');
    writeFileSync(src, await makePdf());
    exiftool(['-overwrite_original', `-XMP-iptcExt:DigitalSourceType=${TAM_URI.replace('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia')}`, '-XMP-dc:Rights=Example rights', src]);
    const before = await detect(src);
    expect(before.findings.find((f) => f.kind === 'xmp:iptc-digital-source-type')?.value).toMatchObject({ term: 'compositeWithTrainedAlgorithmicMedia' });
    expect(stamp(before.findings)).toBeUndefined();
    const out = join(dir, 'third-party-labelled.pdf');
    await label(src, {}, { output: out, visible: false });
    const x = exiftoolJson(out);
    expect(x['XMP-iptcExt:DigitalSourceType']).toBe(TAM_URI);
    expect(x['XMP-dc:Rights']).toBe('Example rights');
    expect(stamp((await detect(out)).findings)).toBeUndefined();
  });

  it('re-labelling replaces the earlier stamp and XMP record instead of stacking them', async () => {
    const first = await label(await makePdf(), { contentId: 'first' }, { lang: ['en'] });
    const second = await label(first.data!, { contentId: 'second' }, { lang: ['ru'] });
    const path = join(dir, 'relabelled.pdf');
    writeFileSync(path, second.data!);
    if (hasQpdf) execFileSync('qpdf', ['--check', path]);
    if (hasPoppler) {
      for (const t of pdftotextPages(path, 5)) {
        expect(t).not.toContain('Generated with artificial intelligence');
        expect(t.split(RU).length - 1).toBe(1);
      }
    }
    const d = await detect(path);
    expect(d.findings.filter((f) => f.kind === 'xmp:tamga').map((f) => (f.value as { contentId: string }).contentId)).toEqual(['second']);
    expect(stamp(d.findings)?.pagesWith).toEqual([1, 2, 3, 4, 5]);
  });

  it('embeds fonts for Kazakh and Chinese: the stamp renders and extracts in both', async () => {
    const path = join(dir, 'kk-zh.pdf');
    const r = await label(await makePdf(), {}, { lang: ['kk', 'zh'] });
    writeFileSync(path, r.data!);
    const families = new Set(Buffer.from(r.data!).toString('latin1').match(/\/BaseFont \/NotoSans(?:SC)?-/g));
    expect(families).toEqual(new Set(['/BaseFont /NotoSans-', '/BaseFont /NotoSansSC-']));
    if (hasPoppler) {
      const t = execFileSync('pdftotext', ['-f', '1', '-l', '1', path, '-'], { encoding: 'utf8' });
      expect(t).toContain('Жасанды интеллект арқылы жасалған / 本内容由人工智能生成');
      const fontsList = execFileSync('pdffonts', [path], { encoding: 'utf8' });
      // Embedded, with a ToUnicode map (the emb and uni columns).
      expect(fontsList).toMatch(/NotoSans-Regular\S*\s+CID TrueType\s+Identity-H\s+yes\s+\S+\s+yes/);
      expect(fontsList).toMatch(/NotoSansSC-Regular\S*\s+CID TrueType\s+Identity-H\s+yes\s+\S+\s+yes/);
    }
  });

  it('reports which pages lack the stamp', async () => {
    const labelled = await PDFDocument.load((await label(await makePdf(), {}, { lang: ['en'] })).data!);
    const extra = await PDFDocument.create();
    extra.addPage([200, 200]).drawText('unstamped', { x: 10, y: 100 });
    const [copied] = await labelled.copyPages(extra, [0]);
    labelled.insertPage(2, copied!);
    const d = await detect(await labelled.save());
    expect(stamp(d.findings)).toEqual({ pagesWith: [1, 2, 4, 5, 6], pagesWithout: [3] });
  });

  it.skipIf(!hasQpdf)('refuses encrypted PDFs with ENCRYPTED_INPUT', async () => {
    const src = join(dir, 'plain.pdf');
    const enc = join(dir, 'encrypted.pdf');
    writeFileSync(src, await makePdf());
    execFileSync('qpdf', ['--encrypt', '', 'owner-pass', '256', '--', src, enc]);
    await expectTamgaError(label(enc, {}, { output: join(dir, 'never.pdf') }), 'ENCRYPTED_INPUT', /encrypted/);
    await expectTamgaError(detect(enc), 'ENCRYPTED_INPUT');
  });

  it('broken PDFs are CORRUPT_INPUT, never a crash', async () => {
    const good = Buffer.from(await makePdf());
    await expectTamgaError(label(good.subarray(0, good.length - 200), {}, {}), 'CORRUPT_INPUT');
    await expectTamgaError(label(Buffer.from('%PDF-1.7\nnothing here\n'), {}, {}), 'CORRUPT_INPUT');
    // A wrong startxref is no reason to refuse: the section is found, as qpdf and poppler find it.
    const badXref = Buffer.from(good.toString('latin1').replace(/startxref\s+\d+/, 'startxref\n99999999'), 'latin1');
    expect((await detect(badXref)).format).toBe('pdf');
    const relabelled = await label(badXref, {}, { visible: false });
    expect((await detect(relabelled.data!)).findings.map((f) => f.kind)).toContain('xmp:tamga');
  });

  it.skipIf(!hasCorpus)('labels the corpus PDF (linearised, with a C2PA manifest) on request and keeps it readable', async () => {
    const src = corpusFile('c2pa/adobe-express-genai.pdf');
    const before = await detect(src);
    expect(before.findings.some((f) => f.kind === 'c2pa:manifest')).toBe(true);
    await expectTamgaError(label(src, {}, { output: join(dir, 'never.pdf') }), 'C2PA_CONFLICT');
    const out = join(dir, 'adobe-labelled.pdf');
    await label(src, { contentId: 'corpus-1' }, { output: out, onExistingC2pa: 'strip' });
    if (hasQpdf) expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toMatch(/No syntax or stream encoding errors/);
    if (hasPoppler) expect(execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ')).toContain(LINE);
    if (hasExiftool) expect(exiftoolJson(out)['XMP-iptcExt:DigitalSourceType']).toBe(TAM_URI);
    const after = await detect(out);
    expect(after.findings.some((f) => f.kind === 'c2pa:manifest')).toBe(false);
    expect(stamp(after.findings)).toEqual({ pagesWith: [1], pagesWithout: [] });
    expect(after.findings.find((f) => f.kind === 'pdf:info-creator')?.value).toBe('Adobe Express');
  });
});
