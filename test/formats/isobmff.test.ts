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
import { validateWarnings, corpusFile, exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasCorpus, hasExiftool, tempDir, avMetadataWrite, rewriteAv } from '../helpers.js';

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
    // QuickTime keeps its one packet in moov/udta/XMP_, MP4 in the uuid box after ftyp.
    if (format === 'mov') expect(types).not.toContain('uuid-xmp');
    else {
      expect(types[1]).toBe('uuid-xmp');
      expect(types.filter((t) => t === 'uuid-xmp')).toHaveLength(1);
    }
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

  it('QuickTime gets its one XMP packet in moov/udta/XMP_ (no uuid box: exiftool calls two a duplicate)', async () => {
    const dest = await labelTo('clip.mov', 'mov');
    const meta = await isobmffContainer.read(new BufferReader(readFileSync(dest)), 'mov');
    expect(meta.xmp?.carrier.name).toBe('mp4:udta/XMP_');
    expect(meta.texts.map((t) => t.key)).toEqual(expect.arrayContaining(['\u00a9cmt', 'AIGC', 'tamga']));
    if (hasExiftool) expect([...validateWarnings(dest)].filter((w) => /Duplicate XMP/.test(w))).toEqual([]);
    // A MOV whose packet is in a uuid box (c2pa-rs writes it there) keeps it there, alone.
    const uuidOnly = await rewrite(readFileSync(files['clip.mov']!), 'mp4');
    const relabelled = await rewrite(uuidOnly, 'mov');
    expect((await readTopLevelBoxes(new BufferReader(relabelled))).filter((b) => b.uuid?.[0] === XMP_UUID[0])).toHaveLength(1);
    const moov = (await readTopLevelBoxes(new BufferReader(relabelled))).find((b) => b.type === 'moov')!;
    expect(relabelled.subarray(moov.offset, moov.offset + moov.size).includes(Buffer.from('XMP_'))).toBe(false);
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

  // CENC (ISO/IEC 23001-7) as ffmpeg writes it: saio holds the absolute offset of the IVs in
  // moov/.../senc (mp4parse-rust short-cenc.mp4 has that shape); fragments hold tfhd base offsets
  // and mfra/tfra moof offsets. Every one must follow its bytes, or the file no longer decrypts.
  const KEY = '76a6c65c5ea762046bd749a2e632ccbb';
  const encrypt = async (name: string, movflags?: string) => {
    const out = join(tmp.dir, name);
    await runFfmpeg(['-y', '-i', files['clip.mp4']!, '-map', '0:v', '-c', 'copy', '-encryption_scheme', 'cenc-aes-ctr', '-encryption_key', KEY, '-encryption_kid', 'a7e61c373e219033c21091fa607bf3b8', ...(movflags ? ['-movflags', movflags] : []), out]);
    return out;
  };
  const decryptedFrames = async (path: string) => (await runFfmpeg(['-decryption_key', KEY, '-i', path, '-map', '0:v', '-f', 'framemd5', '-'])).stdout.toString('utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const saioTargets = (b: Buffer): { saio: number; senc: number }[] => {
    const out: { saio: number; senc: number }[] = [];
    const walk = (from: number, to: number) => {
      let senc = -1;
      for (const k of childBoxes(b, from, to)) {
        if (k.type === 'senc') senc = k.offset + k.headerSize + 8;
        if (k.type === 'saio') out.push({ saio: b.readUInt32BE(k.offset + k.headerSize + 8), senc });
        if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(k.type)) walk(k.offset + k.headerSize, k.offset + k.size);
      }
    };
    walk(0, b.length);
    return out;
  };

  it.each<[string, string | undefined, string]>([
    ['cenc.mp4', undefined, 'moov after mdat'],
    ['cenc-faststart.mp4', 'faststart', 'moov before mdat'],
  ])('CENC %s (%s, %s): saio follows senc, the labelled file decrypts to the same frames', async (name, movflags) => {
    const src = await encrypt(name, movflags);
    const before = saioTargets(readFileSync(src));
    expect(before.length).toBeGreaterThan(0);
    for (const t of before) expect(t.saio).toBe(t.senc);
    const dest = join(tmp.dir, `labelled-${name}`);
    writeFileSync(dest, await rewrite(readFileSync(src), 'mp4'));
    for (const t of saioTargets(readFileSync(dest))) expect(t.saio).toBe(t.senc);
    expect(await decryptedFrames(dest)).toEqual(await decryptedFrames(src));
    expect(await decryptedFrames(dest)).toEqual(await frameMd5(files['clip.mp4']!, { streams: '0:v' }));
  });

  it('a fragmented MP4 (tfhd base data offsets, mfra/tfra): labelled, frames identical, every offset on its moof', async () => {
    // (ffmpeg cannot decrypt its own fragmented CENC output, so the encrypted one is checked structurally.)
    for (const [name, encrypted] of [['frag.mp4', false], ['cenc-frag.mp4', true]] as const) {
      let src = join(tmp.dir, name);
      if (encrypted) src = await encrypt(name, 'frag_keyframe+empty_moov');
      else await runFfmpeg(['-y', '-i', files['clip.mp4']!, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov', src]);
      const dest = join(tmp.dir, `labelled-${name}`);
      writeFileSync(dest, await rewrite(readFileSync(src), 'mp4'));
      if (!encrypted) expect(await frameMd5(dest)).toEqual(await frameMd5(src));
      const out = readFileSync(dest);
      const top = await readTopLevelBoxes(new BufferReader(out));
      const moofs = top.filter((b) => b.type === 'moof');
      expect(moofs.length).toBeGreaterThan(0);
      for (const moof of moofs) {
        const traf = childBoxes(out, moof.offset + 8, moof.offset + moof.size).find((k) => k.type === 'traf')!;
        const tfhd = childBoxes(out, traf.offset + 8, traf.offset + traf.size).find((k) => k.type === 'tfhd')!;
        expect(out.readUInt32BE(tfhd.offset + 8) & 1).toBe(1);
        // ffmpeg's explicit base data offset is its moof's own position.
        expect(Number(out.readBigUInt64BE(tfhd.offset + 16))).toBe(moof.offset);
      }
      const mfra = top.find((b) => b.type === 'mfra')!;
      const tfra = childBoxes(out, mfra.offset + 8, mfra.offset + mfra.size).find((k) => k.type === 'tfra')!;
      expect(out[tfra.offset + 8]).toBe(1);
      expect(Number(out.readBigUInt64BE(tfra.offset + 8 + 16 + 8))).toBe(moofs[0]!.offset);
    }
  });

  it('a segment index (sidx) before moov that would be cut from its fragments is refused (UNSUPPORTED_FORMAT)', async () => {
    const frag = join(tmp.dir, 'frag-sidx.mp4');
    await runFfmpeg(['-y', '-i', files['clip.mp4']!, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof+global_sidx', frag]);
    const input = readFileSync(frag);
    const top = await readTopLevelBoxes(new BufferReader(input));
    const moov = top.find((b) => b.type === 'moov')!;
    const sidx = top.find((b) => b.type === 'sidx')!;
    // After moov, as ffmpeg writes it: labelled.
    writeFileSync(join(tmp.dir, 'frag-sidx.out.mp4'), await rewrite(input, 'mp4'));
    expect(await frameMd5(join(tmp.dir, 'frag-sidx.out.mp4'))).toEqual(await frameMd5(frag));
    // The same sidx moved in front of moov now spans it: refused.
    const sidxBytes = input.subarray(sidx.offset, sidx.offset + sidx.size);
    const rest = Buffer.concat([input.subarray(0, sidx.offset), input.subarray(sidx.offset + sidx.size)]);
    // first_offset (its low 32 bits): after the header, version/flags, reference_ID, timescale and earliest_presentation_time.
    const firstOffset = sidxBytes[8] === 0 ? 8 + 4 + 4 + 4 + 4 : 8 + 4 + 4 + 4 + 8 + 4;
    const moved = Buffer.from(sidxBytes);
    moved.writeUInt32BE(moved.readUInt32BE(firstOffset) + moov.size, firstOffset);
    const reordered = Buffer.concat([rest.subarray(0, moov.offset), moved, rest.subarray(moov.offset)]);
    await expectTamgaError(rewrite(reordered, 'mp4'), 'UNSUPPORTED_FORMAT', /sidx/);
  });

  it('an XMP packet only in moov/udta/XMP_ is merged there: no second packet in a uuid box', async () => {
    // The packet in udta/XMP_ only, as exiftool writes MOV; relabelled as an MP4 (its brand may say so).
    const udtaOnly = await rewrite(readFileSync(files['clip.mov']!), 'mov');
    const fixed = await rewrite(udtaOnly, 'mp4', write());
    const types = (await readTopLevelBoxes(new BufferReader(fixed))).map((b) => (b.uuid?.[0] === XMP_UUID[0] ? 'uuid-xmp' : b.type));
    expect(types).not.toContain('uuid-xmp');
    const meta = await isobmffContainer.read(new BufferReader(fixed), 'mp4');
    expect(meta.xmp?.carrier.name).toBe('mp4:udta/XMP_');
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
