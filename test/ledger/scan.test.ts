import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { label } from '../../src/api.js';
import { LedgerStore } from '../../src/ledger/index.js';
import { fileUrl, runFfmpeg } from '../../src/media/ffmpeg.js';
import { scan, verify } from '../../src/verify/index.js';
import type { FileVerdict, SignalValue } from '../../src/verify/types.js';
import { corpusFile, hasCorpus, runTamga, tempDir } from '../helpers.js';

const tmp = tempDir('tamga-ledger-scan-');
afterAll(() => tmp.cleanup());
const at = (name: string) => join(tmp.dir, name);

const ledgerEvidence = (v: FileVerdict) => v.evidence.find((e) => e.kind === 'ledger-match')?.value as (SignalValue & Record<string, unknown>) | undefined;

/** JPEG q70 at half size, metadata stripped (sharp writes none unless asked): a typical re-upload. */
async function reencodedCopy(input: string, output: string): Promise<void> {
  const width = (await sharp(input).metadata()).width!;
  await sharp(input).rotate().resize(Math.round(width / 2)).jpeg({ quality: 70 }).toFile(output);
}

describe.skipIf(!hasCorpus)('scan --ledger: images (CLI)', () => {
  const ledger = at('images.db');
  let contentId = '';
  beforeAll(async () => {
    const r = runTamga(tmp.dir, 'label', corpusFile('camera/Canon_40D.jpg'), '--no-visible', '--provider', 'Acme AI', '--generator', 'Imagine/2', '--ledger', ledger, '-o', at('canon-labelled.jpg'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { provenance: { contentId: string }; ledger: { fingerprint: string } };
    expect(out.ledger.fingerprint).toBe('image-dct64/1');
    contentId = out.provenance.contentId;
    await reencodedCopy(at('canon-labelled.jpg'), at('canon-copy.jpg'));
  });

  it('a stripped JPEG q70 + 0.5x copy scans as unlabelled, with strong ledger evidence naming the content id and provider', () => {
    const r = runTamga(tmp.dir, 'scan', at('canon-copy.jpg'), corpusFile('camera/Nikon_D70.jpg'), '--ledger', ledger, '--format', 'json', '--fail-on', 'none');
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: FileVerdict[] }).files;
    const copy = files.find((f) => f.path.endsWith('canon-copy.jpg'))!;
    expect(copy.verdict).toBe('unlabelled');
    expect(copy.labels.filter((l) => l.layer === 'metadata')).toEqual([]);
    expect(ledgerEvidence(copy)).toMatchObject({ grade: 'strong', match: 'perceptual', contentId, provider: 'Acme AI', generator: 'Imagine/2', method: 'image-dct64/1' });
    expect((ledgerEvidence(copy)!['distance'] as number) <= 10).toBe(true);
    // A different corpus photo: no match.
    const other = files.find((f) => f.path.endsWith('Nikon_D70.jpg'))!;
    expect(ledgerEvidence(other)).toBeUndefined();
  });

  it('detect --ledger adds the ledger-match finding', () => {
    const r = runTamga(tmp.dir, 'detect', at('canon-copy.jpg'), '--ledger', ledger, '--no-visible', '--json');
    expect(r.status, r.stderr).toBe(0);
    const [res] = JSON.parse(r.stdout) as { findings: { kind: string; value: Record<string, unknown> }[] }[];
    expect(res!.findings.find((f) => f.kind === 'ledger-match')?.value).toMatchObject({ grade: 'strong', contentId });
  });

  it('the labelled output itself is an exact (hard) match; without --ledger the copy is not-synthetic', async () => {
    const v = await verify(at('canon-labelled.jpg'), { ledger });
    expect(ledgerEvidence(v)).toMatchObject({ grade: 'hard', match: 'exact', contentId });
    expect((await verify(at('canon-copy.jpg'))).verdict).toBe('not-synthetic');
  });

  it('no other corpus image matches the ledger', async () => {
    const dirs = ['images/natural', 'camera', 'generators'];
    const verdicts: FileVerdict[] = [];
    for await (const v of scan(dirs.map(corpusFile), { ledger, visible: false, exclude: ['Canon_40D.jpg', '*.md', '*.HEIC'] })) verdicts.push(v);
    expect(verdicts.length).toBeGreaterThan(35);
    expect(verdicts.filter((v) => ledgerEvidence(v)).map((v) => v.path)).toEqual([]);
  });

  it('with the visible badge kept in the pixels, the copy is partially-labelled (the badge is a label)', async () => {
    const l2 = at('badge.db');
    await label(corpusFile('images/natural/kodim05.png'), { provider: 'Acme AI' }, { output: at('kodim05-badge.png'), ledger: l2 });
    await reencodedCopy(at('kodim05-badge.png'), at('kodim05-badge-copy.jpg'));
    const v = await verify(at('kodim05-badge-copy.jpg'), { ledger: l2 });
    expect(v.verdict).toBe('partially-labelled');
    expect(v.missing).toEqual(['machine-readable']);
    expect(ledgerEvidence(v)).toMatchObject({ grade: 'strong', match: 'perceptual' });
  });

  it('a bad ledger fails the scan before any file (LEDGER_FAILED, exit 3)', async () => {
    writeFileSync(at('bad.db'), 'not a ledger at all '.repeat(100));
    const r = runTamga(tmp.dir, 'scan', at('canon-copy.jpg'), '--ledger', at('bad.db'), '--format', 'json');
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'LEDGER_FAILED' } });
    await expect(verify(at('canon-copy.jpg'), { ledger: at('missing.db') })).rejects.toMatchObject({ code: 'LEDGER_FAILED' });
    await expect(label(corpusFile('camera/Nikon_D70.jpg'), {}, { output: at('never.jpg'), ledger: at('bad.db') })).rejects.toMatchObject({ code: 'LEDGER_FAILED' });
    expect(() => readFileSync(at('never.jpg'))).toThrow();
  });
});

/** A two-page PDF of prose (Helvetica), as a generator would write it. */
async function prosePdf(lines: string[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < 2; p++) {
    const page = doc.addPage([595, 842]);
    lines.forEach((l, i) => page.drawText(`${l} (${p + 1})`, { x: 50, y: 780 - i * 18, size: 12, font }));
  }
  return doc.save();
}

/** Two gliding partials with a tremolo, plus pink noise: structure a codec keeps, unlike a pure tone. */
const melody = (a: number, b: number) => `0.4*sin(2*PI*(${a}+150*sin(2*PI*0.3*t))*t)*(0.6+0.4*sin(2*PI*3*t))+0.2*sin(2*PI*(${b}+400*sin(2*PI*0.7*t))*t)`;

describe('scan --ledger: audio, text, video', () => {
  const ledger = at('media.db');
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    mkdirSync(at('media'));
    await runFfmpeg(['-f', 'lavfi', '-i', `aevalsrc=${melody(200, 800)}:s=44100:d=8`, '-c:a', 'pcm_s16le', fileUrl(at('song.wav'))]);
    await runFfmpeg(['-f', 'lavfi', '-i', `aevalsrc=${melody(330, 1200)}:s=44100:d=8`, '-c:a', 'pcm_s16le', fileUrl(at('media/other-song.wav'))]);
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:d=6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '20', fileUrl(at('clip.mp4'))]);
    await runFfmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=320x240:rate=25', '-t', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', fileUrl(at('media/other-clip.mp4'))]);
    writeFileSync(
      at('essay.md'),
      '# Delta\n\nThe river delta shifts every spring when the snowmelt arrives from the mountains.\nFarmers along the banks have learned to read the colour of the water,\n' +
        'and they move their herds to higher ground long before the first flood reaches the villages.\n',
    );
    ids['audio'] = (await label(at('song.wav'), { provider: 'Acme AI' }, { output: at('song-labelled.wav'), ledger })).provenance.contentId;
    ids['video'] = (await label(at('clip.mp4'), { provider: 'Acme AI' }, { output: at('clip-labelled.mp4'), visible: false, ledger })).provenance.contentId;
    ids['text'] = (await label(at('essay.md'), { provider: 'Acme AI' }, { output: at('essay-labelled.md'), watermarkKey: 'a-secret-key-1', ledger })).provenance.contentId;
    // The copies: MP3 64k of the labelled WAV, tags dropped; the clip at half size and low quality; the text stripped of
    // its watermark, disclosure and front matter, and reflowed.
    await runFfmpeg(['-i', fileUrl(at('song-labelled.wav')), '-map_metadata', '-1', '-c:a', 'libmp3lame', '-b:a', '64k', fileUrl(at('media/song-copy.mp3'))]);
    await runFfmpeg(['-i', fileUrl(at('clip-labelled.mp4')), '-map_metadata', '-1', '-vf', 'scale=160:120', '-c:v', 'libx264', '-crf', '32', fileUrl(at('media/clip-copy.mp4'))]);
    const labelled = readFileSync(at('essay-labelled.md'), 'utf8');
    const body = labelled.replace(/^---\n[\s\S]*?\n---\n/, '').replace(/[\uFE00-\uFE0F]/g, '').split('\n').filter((l) => !/интеллект|artificial/i.test(l));
    writeFileSync(at('media/essay-copy.txt'), body.join(' ').replace(/\s+/g, ' ').trim());
    writeFileSync(at('report.pdf'), await prosePdf(['The river delta shifts every spring when the snowmelt arrives.', 'Farmers along the banks read the colour of the water and move', 'their herds to higher ground long before the first flood.']));
    writeFileSync(at('media/other-report.pdf'), await prosePdf(['Interest rates rose again this quarter, and the price of bread', 'in the capital followed them within weeks, economists said on', 'Monday, after a long winter of rising costs for everyone.']));
    ids['pdf'] = (await label(at('report.pdf'), { provider: 'Acme AI' }, { output: at('report-labelled.pdf'), ledger })).provenance.contentId;
    // The PDF's pages copied into a new document: other bytes, no document metadata (the page stamp stays).
    const labelledPdf = await PDFDocument.load(readFileSync(at('report-labelled.pdf')));
    const copyPdf = await PDFDocument.create();
    for (const page of await copyPdf.copyPages(labelledPdf, labelledPdf.getPageIndices())) copyPdf.addPage(page);
    writeFileSync(at('media/report-copy.pdf'), await copyPdf.save());
    writeFileSync(at('media/other-essay.txt'), 'Interest rates rose again this quarter, and the price of bread in the capital followed them within weeks, economists said on Monday.');
  }, 60_000);

  it('recognises the MP3, the smaller video and the reflowed text; unrelated files do not match', async () => {
    const got = new Map<string, FileVerdict>();
    for await (const v of scan([at('media')], { ledger, visible: false })) got.set(v.path.split('/').pop()!, v);
    expect(ledgerEvidence(got.get('song-copy.mp3')!)).toMatchObject({ grade: 'strong', contentId: ids['audio'], method: 'audio-bark32/1', provider: 'Acme AI' });
    expect(ledgerEvidence(got.get('clip-copy.mp4')!)).toMatchObject({ grade: 'strong', contentId: ids['video'], method: 'video-dct64-1fps/1' });
    expect(ledgerEvidence(got.get('essay-copy.txt')!)).toMatchObject({ grade: 'strong', contentId: ids['text'], method: 'text-simhash64/1', distance: 0 });
    expect(ledgerEvidence(got.get('report-copy.pdf')!)).toMatchObject({ grade: 'strong', contentId: ids['pdf'], method: 'text-simhash64/1' });
    expect(got.get('report-copy.pdf')!.labels.filter((l) => l.layer === 'metadata')).toEqual([]);
    for (const name of ['essay-copy.txt', 'clip-copy.mp4']) expect(got.get(name)!.verdict).toBe('unlabelled');
    // The audio copy keeps the audible cue in its samples: a visible-layer label, so partially-labelled.
    expect(['unlabelled', 'partially-labelled']).toContain(got.get('song-copy.mp3')!.verdict);
    for (const name of ['other-song.wav', 'other-clip.mp4', 'other-essay.txt', 'other-report.pdf']) {
      expect(ledgerEvidence(got.get(name)!), name).toBeUndefined();
      expect(got.get(name)!.verdict).toBe('not-synthetic');
    }
    const ber = ledgerEvidence(got.get('song-copy.mp3')!)!['ber'] as number;
    console.log(`[ledger] MP3 64k copy BER ${ber}; video copy ${JSON.stringify(ledgerEvidence(got.get('clip-copy.mp4')!))}`);
  });

  it('records one entry per labelled output with its fingerprint method', () => {
    const s = LedgerStore.open(ledger, { readonly: true });
    try {
      expect(s.count()).toBe(4);
      const methods = s.fingerprintsAfter(0).map((r) => `${r.kind}:${r.method}`).sort();
      expect(methods).toEqual(['audio:audio-bark32/1', 'pdf:text-simhash64/1', 'text:text-simhash64/1', 'video:video-dct64-1fps/1']);
    } finally {
      s.close();
    }
  });

  it('scan opens the ledger in worker threads too', async () => {
    // More files than the main thread takes before the workers start.
    mkdirSync(at('many'));
    for (let i = 0; i < 60; i++) copyFileSync(at('media/essay-copy.txt'), at(`many/copy-${i}.txt`));
    let matched = 0;
    for await (const v of scan([at('many')], { ledger, workers: 1, visible: false })) if (ledgerEvidence(v)?.['contentId'] === ids['text']) matched++;
    expect(matched).toBe(60);
  }, 60_000);
});
