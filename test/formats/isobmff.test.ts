import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { BufferReader, FileReader } from '../../src/core/source.js';
import { childBoxes, isobmffContainer, mayHoldBmffC2paBox, readTopLevelBoxes, XMP_UUID, type Box } from '../../src/formats/isobmff.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { frameMd5, probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { AV_FIXTURES, makeAvFixtures } from '../../fixtures/make-av.js';
import { corpusFile, exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasCorpus, hasExiftool, tempDir, avMetadataWrite, rewriteAv } from '../helpers.js';

const tmp = tempDir('tamga-bmff-');
let files: Record<string, string>;
beforeAll(async () => {
  files = await makeAvFixtures(tmp.dir, AV_FIXTURES.filter((f) => /\.(mp4|mov|m4a)$/.test(f.name)));
}, 60_000);
afterAll(() => tmp.cleanup());

const DISCLOSURE = 'Жасанды интеллект арқылы жасалған / AI-generated';
const write = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => avMetadataWrite({ comment: DISCLOSURE, ...over });

const rewrite = (input: Uint8Array, format: 'mp4' | 'mov' | 'm4a', w = write()) => rewriteAv(isobmffContainer, input, format, w);

async function labelTo(name: string, format: 'mp4' | 'mov' | 'm4a'): Promise<string> {
  const dest = join(tmp.dir, name.replace(/\.(\w+)$/, '.out.$1'));
  writeFileSync(dest, await rewrite(readFileSync(files[name]!), format));
  return dest;
}

const topTypes = async (path: string) => (await readTopLevelBoxes(new BufferReader(readFileSync(path)))).map((b) => (b.uuid?.[0] === XMP_UUID[0] ? 'uuid-xmp' : b.type));

describe('ISO BMFF container', () => {
  const cases: [string, 'mp4' | 'mov' | 'm4a', string][] = [
    ['clip.mp4', 'mp4', 'moov before mdat: chunk offsets shifted'],
    ['clip-moov-last.mp4', 'mp4', 'moov after mdat'],
    ['clip.mov', 'mov', 'QuickTime'],
    ['tone.m4a', 'm4a', 'audio only'],
  ];
  it.each(cases)('%s (%s, %s): decoded frames identical, labels read by ffprobe', async (name, format) => {
    const dest = await labelTo(name, format);
    expect(await frameMd5(dest)).toEqual(await frameMd5(files[name]!));
    // Packet-level too: the sample bytes are where stco says.
    expect(await frameMd5(dest, { copy: true })).toEqual(await frameMd5(files[name]!, { copy: true }));
    const types = await topTypes(dest);
    expect(types[0]).toBe('ftyp');
    expect(types[1]).toBe('uuid-xmp');
    expect(types.filter((t) => t === 'uuid-xmp')).toHaveLength(1);
    const tags = (await probe(dest)).format.tags!;
    expect(tags.AIGC).toBe('{"AIGC":{"Label":"1"}}');
    expect(tags.comment).toContain(DISCLOSURE);
  });

  it('moov before mdat: the labelled file keeps that order (still streamable)', async () => {
    const dest = await labelTo('clip.mp4', 'mp4');
    const types = await topTypes(dest);
    expect(types.indexOf('moov')).toBeLessThan(types.indexOf('mdat'));
  });

  it('music-metadata reads the iTunes items', async () => {
    const m4a = await labelTo('tone.m4a', 'm4a');
    const mm = await parseFile(m4a);
    expect(mm.common.title).toBe('Tone');
    expect(mm.common.comment?.[0]?.text).toBe(`owner comment\n${DISCLOSURE}`);
    expect(mm.native.iTunes!.find((t) => t.id === '----:com.apple.iTunes:AIGC')?.value).toBe('{"AIGC":{"Label":"1"}}');
  });

  it.skipIf(!hasExiftool)('exiftool reads the XMP and the iTunes items', async () => {
    const mov = exiftoolJson(await labelTo('clip.mov', 'mov'));
    expect(mov['XMP-iptcExt:DigitalSourceType']).toMatch(/trainedAlgorithmicMedia$/);
    expect(mov['ItemList:Comment']).toBe(DISCLOSURE);
    const mp4 = exiftoolJson(await labelTo('clip.mp4', 'mp4'));
    expect(mp4['XMP-iptcExt:DigitalSourceType']).toMatch(/trainedAlgorithmicMedia$/);
    expect(mp4['ItemList:Title'] ?? mp4['UserData:Title']).toBe('Clip');
  });

  it('QuickTime also gets moov/udta/XMP_, read back as the XMP carrier when the uuid box is absent', async () => {
    const dest = await labelTo('clip.mov', 'mov');
    const meta = await isobmffContainer.read(new BufferReader(readFileSync(dest)), 'mov');
    expect(meta.xmp?.carrier.name).toBe('mp4:uuid-XMP');
    expect(meta.texts.map((t) => t.key)).toEqual(expect.arrayContaining(['\u00a9cmt', 'AIGC', 'tamga']));
    // Remove the uuid box: the udta copy is found.
    const bytes = readFileSync(dest);
    const uuid = (await readTopLevelBoxes(new BufferReader(bytes))).find((b) => b.type === 'uuid')!;
    bytes.write('free', uuid.offset + 4, 'latin1');
    expect((await isobmffContainer.read(new BufferReader(bytes), 'mov')).xmp?.carrier.name).toBe('mp4:udta/XMP_');
  });

  it('relabelling replaces the uuid box and our items, never duplicates them', async () => {
    const once = await rewrite(readFileSync(files['clip.mp4']!), 'mp4');
    const twice = await rewrite(once, 'mp4', write({ comment: 'second', previousComment: DISCLOSURE, aigc: '{"AIGC":{"Label":"2"}}' }));
    const dest = join(tmp.dir, 'twice.mp4');
    writeFileSync(dest, twice);
    expect((await topTypes(dest)).filter((t) => t === 'uuid-xmp')).toHaveLength(1);
    const meta = await isobmffContainer.read(new BufferReader(twice), 'mp4');
    expect(meta.texts.filter((t) => t.key === 'AIGC').map((t) => t.text)).toEqual(['{"AIGC":{"Label":"2"}}']);
    expect(meta.texts.filter((t) => t.key === '\u00a9cmt').map((t) => t.text)).toEqual(['second']);
    expect(await frameMd5(dest)).toEqual(await frameMd5(files['clip.mp4']!));
  });

  it('detection reads box headers, udta and the XMP box, not mdat', async () => {
    // 2 s of raw 640x480 RGB: a 46 MB mdat before the moov.
    const big = join(tmp.dir, 'big.mov');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc=size=640x480:rate=25:duration=2', '-c:v', 'rawvideo', '-pix_fmt', 'rgb24', big]);
    const labelled = join(tmp.dir, 'big.out.mov');
    await label(big, {}, { output: labelled, visible: false });
    const reader = await FileReader.open(labelled);
    try {
      const meta = await isobmffContainer.read(reader, 'mov');
      expect(meta.texts.some((t) => t.key === 'tamga')).toBe(true);
      expect(reader.size).toBeGreaterThan(40e6);
      expect(reader.bytesRead).toBeLessThan(300 * 1024);
    } finally {
      await reader.close();
    }
  });

  it('64-bit chunk offsets (co64) are shifted too', async () => {
    // Rewrite the faststart clip's stco tables as co64 (moov grows, so every offset moves by that growth).
    const input = readFileSync(files['clip.mp4']!);
    const top = await readTopLevelBoxes(new BufferReader(input));
    const moov = top.find((b) => b.type === 'moov')!;
    const m = input.subarray(moov.offset, moov.offset + moov.size);
    const boxBytes = (type: string, body: Buffer) => {
      const h = Buffer.alloc(8);
      h.writeUInt32BE(8 + body.length);
      h.write(type, 4, 'latin1');
      return Buffer.concat([h, body]);
    };
    let growth = 0;
    const rebuild = (b: Box): Buffer => {
      if (b.type === 'stco') {
        const count = m.readUInt32BE(b.offset + 12);
        const body = Buffer.alloc(8 + 8 * count);
        for (let i = 0; i < count; i++) body.writeBigUInt64BE(BigInt(m.readUInt32BE(b.offset + 16 + 4 * i)), 8 + 8 * i);
        body.writeUInt32BE(count, 4);
        growth += 4 * count;
        return boxBytes('co64', body);
      }
      if (!['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(b.type)) return Buffer.from(m.subarray(b.offset, b.offset + b.size));
      return boxBytes(b.type, Buffer.concat(childBoxes(m, b.offset + b.headerSize, b.offset + b.size).map(rebuild)));
    };
    let newMoov = rebuild({ type: 'moov', offset: 0, headerSize: 8, size: m.length });
    // Shift the co64 entries by the growth (the media now starts later).
    const fix = (from: number, to: number) => {
      for (const k of childBoxes(newMoov, from, to)) {
        if (k.type === 'co64') {
          const count = newMoov.readUInt32BE(k.offset + 12);
          for (let i = 0; i < count; i++) {
            const o = k.offset + 16 + 8 * i;
            newMoov.writeBigUInt64BE(newMoov.readBigUInt64BE(o) + BigInt(growth), o);
          }
        } else if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(k.type)) fix(k.offset + k.headerSize, k.offset + k.size);
      }
    };
    fix(8, newMoov.length);
    newMoov = Buffer.from(newMoov);
    const co64File = Buffer.concat([input.subarray(0, moov.offset), newMoov, input.subarray(moov.offset + moov.size)]);
    const src = join(tmp.dir, 'co64.mp4');
    writeFileSync(src, co64File);
    expect(await frameMd5(src)).toEqual(await frameMd5(files['clip.mp4']!));
    const dest = join(tmp.dir, 'co64.out.mp4');
    writeFileSync(dest, await rewrite(co64File, 'mp4'));
    expect(await frameMd5(dest)).toEqual(await frameMd5(files['clip.mp4']!));
  });

  it('a fragmented MP4 whose fragments would move is refused (UNSUPPORTED_FORMAT), untouched', async () => {
    const frag = join(tmp.dir, 'frag.mp4');
    await runFfmpeg(['-y', '-i', files['clip.mp4']!, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov', frag]);
    await expectTamgaError(rewrite(readFileSync(frag), 'mp4'), 'UNSUPPORTED_FORMAT', /fragmented/);
  });

  it('broken files are CORRUPT_INPUT', async () => {
    const input = readFileSync(files['clip.mp4']!);
    const notFtyp = Buffer.from(input);
    notFtyp.write('free', 4, 'latin1');
    await expectTamgaError(isobmffContainer.read(new BufferReader(notFtyp), 'mp4'), 'CORRUPT_INPUT', /ftyp/);
    await expectTamgaError(isobmffContainer.read(new BufferReader(input.subarray(0, input.length - 100)), 'mp4'), 'CORRUPT_INPUT');
    const top = await readTopLevelBoxes(new BufferReader(input));
    const moov = top.find((b) => b.type === 'moov')!;
    await expectOnlyCorruptUnderDamage((b) => isobmffContainer.read(new BufferReader(b), 'mp4'), input.subarray(0, moov.offset + moov.size), 17, 200);
  });
});

describe.skipIf(!hasCorpus)('MP4 corpus (C2PA uuid box)', () => {
  it('video1-signed.mp4: manifest detected; label refuses, or strips it with frames untouched', async () => {
    const signed = corpusFile('c2pa/video1-signed.mp4');
    expect((await detect(signed)).findings.some((f) => f.layer === 'c2pa' && f.where?.startsWith('mp4:uuid-c2pa'))).toBe(true);
    await expect(label(signed, {}, { output: join(tmp.dir, 'x.mp4'), visible: false })).rejects.toMatchObject({ code: 'C2PA_CONFLICT' });
    const out = join(tmp.dir, 'video1.out.mp4');
    await label(signed, {}, { output: out, visible: false, onExistingC2pa: 'strip' });
    expect((await detect(out)).findings.some((f) => f.where?.startsWith('mp4:uuid-c2pa'))).toBe(false);
    expect(await frameMd5(out)).toEqual(await frameMd5(signed));
  });
});

describe('mayHoldBmffC2paBox: HEIF/AVIF files are read whole only when a C2PA box is there', () => {
  it.skipIf(!hasCorpus)('walks box headers of a camera HEIC without reading its payload; finds the signed HEIC and AVIF stores', async () => {
    const camera = await FileReader.open(corpusFile('camera/IMG_5195.HEIC'));
    try {
      expect(await mayHoldBmffC2paBox(camera)).toBe(false);
      expect(camera.bytesRead).toBeLessThan(camera.size / 4);
    } finally {
      await camera.close();
    }
    for (const signed of ['c2pa/trustnxt-icon-signed.heic', 'c2pa/cards-signed.avif']) expect(await mayHoldBmffC2paBox(new BufferReader(readFileSync(corpusFile(signed))))).toBe(true);
    const scanned = await detect(corpusFile('camera/IMG_5195.HEIC'));
    expect(scanned).toMatchObject({ format: 'heif', findings: [] });
    expect((await detect(corpusFile('c2pa/trustnxt-icon-signed.heic'))).findings.map((f) => f.kind)).toEqual(['c2pa:manifest']);
  });

  it('leaves a box chain it cannot walk to c2pa-rs', async () => {
    expect(await mayHoldBmffC2paBox(new BufferReader(Buffer.from('\0\0\0\x10ftypheic\0\0\0\0\xff\xff\xff\xffmdat', 'latin1')))).toBe(true);
  });
});
