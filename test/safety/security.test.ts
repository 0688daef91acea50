/**
 * Security properties of issue 10 in one place: hostile XML in every carrier, escaping of user
 * text, decompression bombs, hostile PDFs, and a scan that only reads. Properties proven
 * elsewhere are named here, not repeated:
 *   - XMP parser: DOCTYPE/XXE/billion laughs refused, entities and depth bounded — test/metadata/xmp.test.ts
 *   - ffmpeg filter escaping of `'`, `:`, `\`, `%{`, newlines, separators through a real ffmpeg
 *     run (metadata filter and drawtext) — test/adapters/audio-ffmpeg.test.ts
 *   - scan does not follow links out of the roots, survives a link to an ancestor, reports dangling
 *     links — test/verify/scan.test.ts
 *   - deeply nested / huge XMP through the parser — test/fuzz/fuzz.test.ts
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PDFDocument, PDFName } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { renderPlan } from '../../src/core/edit.js';
import { TamgaError } from '../../src/core/errors.js';
import { BufferReader } from '../../src/core/source.js';
import { layoutBadge, MIN_TEXT_PX } from '../../src/disclosure/badge.js';
import { isobmffContainer } from '../../src/formats/isobmff.js';
import { buildPngChunk, buildPngXmpChunk } from '../../src/formats/png.js';
import { scan } from '../../src/verify/index.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { avMetadataWrite, ROOT, tempDir } from '../helpers.js';
import { classicPdf, hostilePdfs } from '../fuzz/media-targets.js';

const tmp = tempDir('tamga-security-');
afterAll(() => tmp.cleanup());

/** A secret file the XML must never pull in. */
const SECRET = join(tmp.dir, 'secret.txt');
const SECRET_TEXT = 'TOP-SECRET-7f3a91';
writeFileSync(SECRET, SECRET_TEXT);

const XXE = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://${SECRET}">]><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&e;</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>`;
const LAUGHS = `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&d;&d;&d;&d;</x:xmpmeta>`;
const DEEP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description>${'<a:b xmlns:a="urn:a">'.repeat(50_000)}${'</a:b>'.repeat(50_000)}</rdf:Description></rdf:RDF></x:xmpmeta>`;
const HOSTILE_XML = { xxe: XXE, 'billion laughs': LAUGHS, 'nesting 50000 deep': DEEP };

/** Runs `f`; a TamgaError is an answer, anything else fails the test. Returns the result or the error. */
async function answer<T>(f: () => Promise<T>): Promise<T | TamgaError> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof TamgaError) return e;
    throw e;
  }
}

/** Nothing of the secret file reaches a result or an error message. */
function expectNoSecret(r: unknown): void {
  expect(JSON.stringify(r instanceof TamgaError ? { message: r.message, details: r.details } : r)).not.toContain(SECRET_TEXT);
}

let png: Buffer;
let mp4: Buffer;
beforeAll(async () => {
  png = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#369' } }).png().toBuffer();
  mp4 = readFileSync((await makeAvFixtures(join(tmp.dir, 'av'), [{ name: 'c.mp4', video: true, seconds: 0.4, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart'] }]))['c.mp4']!);
}, 60_000);

/** A PNG whose iTXt XMP is `xml`, inserted after IHDR. */
const pngWithXmp = (xml: string) => Buffer.concat([png.subarray(0, 33), buildPngXmpChunk(Buffer.from(xml)), png.subarray(33)]);

async function mp4WithXmp(xml: string): Promise<Buffer> {
  const r = new BufferReader(mp4);
  return Buffer.from(await renderPlan(r, await isobmffContainer.planWrite(r, await isobmffContainer.read(r, 'mp4'), avMetadataWrite({ xmp: Buffer.from(xml) }))));
}

async function pdfWithXmp(xml: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.addPage([100, 100]);
  doc.catalog.set(PDFName.of('Metadata'), doc.context.register(doc.context.stream(xml, { Type: 'Metadata', Subtype: 'XML' })));
  return doc.save();
}

describe('hostile XML in every XMP carrier: no DTD, no entity, bounded depth', () => {
  for (const [name, xml] of Object.entries(HOSTILE_XML)) {
    it(`${name}: detect reports the packet as malformed, label refuses it (PNG, MP4, PDF)`, async () => {
      for (const [format, bytes] of [
        ['png', pngWithXmp(xml)],
        ['mp4', await mp4WithXmp(xml)],
        ['pdf', await pdfWithXmp(xml)],
      ] as const) {
        const t0 = performance.now();
        const found = await answer(() => detect(bytes, { visible: false }));
        expectNoSecret(found);
        if (found instanceof TamgaError) expect(['UNSAFE_XML', 'CORRUPT_INPUT'], format).toContain(found.code);
        // pdf.js drops a metadata stream its own parser refuses (so no finding at all); the others report it.
        else if (format === 'pdf') expect(found.findings.filter((f) => f.kind.startsWith('xmp:') && f.kind !== 'xmp:malformed')).toEqual([]);
        else expect(found.findings.some((f) => f.kind === 'xmp:malformed'), `${format}: ${JSON.stringify(found.findings.map((f) => f.kind))}`).toBe(true);
        const labelled = await answer(() => label(bytes, {}, { visible: false }));
        expectNoSecret(labelled);
        expect(labelled, format).toBeInstanceOf(TamgaError);
        expect(['UNSAFE_XML', 'CORRUPT_INPUT'], format).toContain((labelled as TamgaError).code);
        expect(performance.now() - t0, `${format} answered within bounds`).toBeLessThan(10_000);
      }
    });
  }

  it('HTML with a DOCTYPE internal subset: labelled as text, the entity never expanded', async () => {
    const html = `<!DOCTYPE html [<!ENTITY e SYSTEM "file://${SECRET}">]>\n<html><head><title>t</title></head><body><p>&e; and prose</p></body></html>\n`;
    const out = Buffer.from((await label(Buffer.from(html), {}, { visible: true })).data!).toString('utf8');
    expect(out).not.toContain(SECRET_TEXT);
    expect(out).toContain('<p>&e; and prose</p>');
    expect(out).toContain(`<!DOCTYPE html [<!ENTITY e SYSTEM "file://${SECRET}">]>`);
    expectNoSecret(await detect(Buffer.from(out)));
  });

  it('SVG with an external entity: detect answers without expanding it', async () => {
    const svg = `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY e SYSTEM "file://${SECRET}">]><svg xmlns="http://www.w3.org/2000/svg"><text>&e;</text></svg>`;
    const r = await answer(() => detect(Buffer.from(svg)));
    expectNoSecret(r);
    const l = await answer(() => label(Buffer.from(svg), {}, { visible: false }));
    expectNoSecret(l);
    expect(l).toBeInstanceOf(TamgaError);
  });
});

describe('user text is escaped where it lands', () => {
  const HOSTILE = `</p><script>alert("x")</script> & ' " <!-- ]]>`;

  it('the SVG badge draws text as paths: no user text, markup or script in the SVG', async () => {
    const l = layoutBadge(400, 300, { texts: [{ text: HOSTILE }], langs: [], position: 'bottom-right', sizePercent: 5, minTextPx: MIN_TEXT_PX });
    expect(l.svg).not.toMatch(/<script|<text|alert|<!--|]]>/);
    expect(l.svg.match(/<[a-z]+/g)!.every((t) => ['<svg', '<path', '<rect', '<g'].includes(t))).toBe(true);
    // librsvg parses it as a complete image.
    expect((await sharp(Buffer.from(l.svg)).metadata()).width).toBe(l.width);
  });

  it('an image labelled with that text is a valid image', async () => {
    const r = await label(png, {}, { visible: true, disclosureText: HOSTILE });
    expect((await sharp(Buffer.from(r.data!)).metadata()).format).toBe('png');
  });

  it('HTML: the disclosure and the meta values are escaped, no markup is injected', async () => {
    const html = '<!doctype html>\n<html><head><title>t</title></head><body><p>prose</p></body></html>\n';
    const out = Buffer.from((await label(Buffer.from(html), { provider: `"><script>bad()</script>`, model: 'm&m' }, { visible: true, disclosureText: HOSTILE })).data!).toString('utf8');
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;/p&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;');
    expect(out).toContain('content="&quot;&gt;&lt;script&gt;bad()&lt;/script&gt;"');
    // And it reads back exactly.
    const d = await detect(Buffer.from(out));
    expect(JSON.stringify(d.findings)).toContain('\\"><script>bad()</script>');
  });

  it("video: an on-screen badge with ', :, \\, %{, a newline in the disclosure re-encodes to a valid, labelled file", { timeout: 60_000 }, async () => {
    const input = join(tmp.dir, 'in.mp4');
    writeFileSync(input, mp4);
    const out = join(tmp.dir, 'badge.mp4');
    const r = await label(input, {}, { output: out, visible: true, disclosureText: "AI: it's 100% \\ %{pts} [x];y\nline two" });
    expect(r.layers).toEqual(expect.arrayContaining(['visible', 'metadata']));
    const d = await detect(out, { visible: false });
    expect(d.findings.some((f) => f.kind === 'xmp:tamga')).toBe(true);
  });
});

/** A PNG header claiming `w` x `h` pixels, with a tiny valid deflate stream (the rest would be zeros). */
function pngBomb(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, buildPngChunk('IHDR', ihdr), buildPngChunk('IDAT', deflateSync(Buffer.alloc(4096))), buildPngChunk('IEND', new Uint8Array(0))]);
}

describe('decompression bombs', () => {
  it('a PNG claiming 100000 x 100000 pixels is refused by every decoding path, fast and in little memory', async () => {
    const bomb = pngBomb(100_000, 100_000);
    expect(bomb.length).toBeLessThan(200);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const visible = await answer(() => label(bomb, {}, { visible: true }));
    expect(visible).toBeInstanceOf(TamgaError);
    expect((visible as TamgaError).code).toBe('INPUT_TOO_LARGE');
    const marked = await answer(() => label(bomb, {}, { visible: false, watermarkKey: 'a-long-enough-key' }));
    expect(marked).toBeInstanceOf(TamgaError);
    expect((marked as TamgaError).code).toBe('INPUT_TOO_LARGE');
    // detect decodes for the badge and the watermark: it still answers (metadata findings, or a refusal).
    const found = await answer(() => detect(bomb, { watermarkKey: 'a-long-enough-key' }));
    if (found instanceof TamgaError) expect(['INPUT_TOO_LARGE', 'CORRUPT_INPUT']).toContain(found.code);
    // Metadata-only labelling never decodes pixels: the bomb is just bytes.
    expect((await label(bomb, {}, { visible: false })).layers).toEqual(['metadata']);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(300 << 20);
  });
});

describe('hostile PDFs are refused or handled within time and memory bounds', () => {
  const cases: Record<string, Uint8Array> = {};
  const [pagesCycle, objStmCycle, prevLoop, millionObjects] = hostilePdfs();
  Object.assign(cases, { 'page tree cycle': pagesCycle, 'object stream extending itself': objStmCycle, '/Prev loop': prevLoop, 'xref claiming 10 million objects': millionObjects });
  // An object stream claiming five million objects in a few bytes.
  const inner = '4 0 << >>';
  cases['object stream claiming 5 million objects'] = classicPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [5 0 R] /Count 1 >>',
    `<< /Type /ObjStm /N 5000000 /First 4 /Length ${inner.length} >>\nstream\n${inner}\nendstream`,
    '<< >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>',
  ]);

  for (const [name, pdf] of Object.entries(cases)) {
    it(`${name}: detect and label answer (result or TamgaError) within bounds`, async () => {
      const heap0 = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      await answer(() => detect(pdf));
      await answer(() => label(pdf, {}, { visible: true }));
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(256 << 20);
    });
  }
});

describe('scan only reads', () => {
  it('a scanned tree is unchanged (names, contents, mtimes); links out of it and link cycles are not followed', async () => {
    const root = join(tmp.dir, 'tree');
    mkdirSync(join(root, 'a'), { recursive: true });
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'a', 'p.png'), png);
    writeFileSync(join(root, 'a', 'v.mp4'), mp4);
    writeFileSync(join(root, 'b', 'x.png'), pngWithXmp(XXE));
    writeFileSync(join(root, 'b', 't.html'), '<!doctype html><html><body><p>hi</p></body></html>');
    writeFileSync(join(root, 'b', 'bomb.png'), pngBomb(100_000, 100_000));
    symlinkSync(join(root, 'b'), join(root, 'a', 'to-b')); // a/to-b -> b, b/to-a -> a: a cycle that is not an ancestor link
    symlinkSync(join(root, 'a'), join(root, 'b', 'to-a'));
    symlinkSync(SECRET, join(root, 'b', 'secret.txt'));
    symlinkSync(ROOT, join(root, 'b', 'repo'));

    const snapshot = () => {
      const out: Record<string, string> = {};
      const walkDir = (d: string) => {
        for (const name of readdirSync(d).sort()) {
          const p = join(d, name);
          const st = lstatSync(p);
          out[p] = st.isSymbolicLink() ? 'link' : st.isDirectory() ? `dir ${st.mtimeMs}` : `${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
          if (st.isDirectory()) walkDir(p);
        }
      };
      walkDir(root);
      return out;
    };
    const before = snapshot();
    const rootMtime = statSync(root).mtimeMs;
    const verdicts = [];
    for await (const v of scan([root], { visible: true, watermarkKey: 'a-long-enough-key' })) verdicts.push(v);
    expect(snapshot()).toEqual(before);
    expect(statSync(root).mtimeMs).toBe(rootMtime);
    const paths = verdicts.map((v) => v.path.slice(root.length + 1));
    // Each real file once; through the cycle at most one extra hop, never a loop; nothing from outside.
    expect(paths.filter((p) => p.endsWith('p.png')).length).toBeLessThanOrEqual(2);
    expect(paths.some((p) => p.startsWith('b/repo/'))).toBe(false);
    expect(verdicts.find((v) => v.path.endsWith('b/secret.txt'))?.error?.message).toMatch(/outside the scanned roots/);
    expect(verdicts.find((v) => v.path.endsWith('b/repo'))?.error?.message).toMatch(/outside the scanned roots/);
    expect(JSON.stringify(verdicts)).not.toContain(SECRET_TEXT);
  }, 60_000);
});
