import { ascii, concat, encodeUtf8, latin1, putU32le, u32le } from '../core/bytes.js';
import { planLength, type EditPlan, type Piece } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import { BufferReader, type ByteReader } from '../core/source.js';
import { mergeCommentField } from './fields.js';
import { id3Metadata, readId3Tag } from './id3.js';
import { readRiffChunks, riffChunk, type RiffChunk, type RiffFile } from './riff.js';
import type { AvContainer, AvMetadata, AvMetadataWrite, Carrier } from './types.js';

/**
 * WAV (RIFF `WAVE`; labelling-standards.md §2.8): tamga writes the disclosure as `LIST`/`INFO`
 * `ICMT` and the XMP packet as a `_PMX` chunk (the XMP spec's and ExifTool's id; c2pa-rs's `XMP `
 * is read too, and replaced in place when it is the only one). New chunks go before `data`, where
 * ffmpeg puts its LIST chunk; the sample data is copied byte for byte.
 */

const FORMAT = 'wav';
const XMP_IDS = ['_PMX', 'XMP '];
/** Chunks some writers use for an ID3 tag inside WAV. */
const ID3_IDS = ['id3 ', 'ID3 '];

async function readWav(reader: ByteReader): Promise<RiffFile> {
  const riff = await readRiffChunks(reader, FORMAT, { lenient: true });
  if (riff.form !== 'WAVE') throw corrupt(FORMAT, `RIFF form type is '${riff.form}', not 'WAVE'`, 8);
  return riff;
}

interface InfoEntry {
  id: string;
  text: string;
  raw: Uint8Array;
}

/** LIST/INFO subchunks (RIFF spec "INFO List Chunk": ZSTR values, word-aligned). */
async function readInfo(reader: ByteReader, list: RiffChunk): Promise<InfoEntry[] | undefined> {
  if (list.size < 4) return undefined;
  const data = await reader.read(list.dataOffset, list.size);
  if (latin1(data.subarray(0, 4)) !== 'INFO') return undefined;
  const out: InfoEntry[] = [];
  let at = 4;
  while (at + 8 <= data.length) {
    const id = latin1(data.subarray(at, at + 4));
    const size = u32le(data, at + 4);
    if (at + 8 + size > data.length) throw corrupt(FORMAT, `INFO subchunk '${id}' runs past its LIST`, list.dataOffset + at);
    const value = data.subarray(at + 8, at + 8 + size);
    const text = Buffer.from(value).toString('utf8').replace(/\0+$/, '');
    out.push({ id, text, raw: data.subarray(at, Math.min(at + 8 + size + (size & 1), data.length)) });
    at += 8 + size + (size & 1);
  }
  return out;
}

function infoList(entries: readonly Uint8Array[]): Uint8Array {
  return riffChunk('LIST', concat([ascii('INFO'), ...entries]));
}

/** An INFO text subchunk: UTF-8 (what ffmpeg and ExifTool write today), NUL-terminated. */
function infoEntry(id: string, text: string): Uint8Array {
  return riffChunk(id, concat([encodeUtf8(text), new Uint8Array(1)]));
}

export const wavContainer: AvContainer = {
  formats: ['wav'],

  async read(reader: ByteReader): Promise<AvMetadata> {
    const riff = await readWav(reader);
    const meta: AvMetadata = { format: 'wav', texts: [] };
    const carrier = (name: string, c: RiffChunk): Carrier => ({ name, offset: c.offset, length: c.end - c.offset });
    for (const id of XMP_IDS) {
      const c = riff.chunks.find((k) => k.id === id);
      if (c && !meta.xmp) meta.xmp = { packet: (await reader.read(c.dataOffset, c.size)).slice(), carrier: carrier(`wav:${id.trim()}`, c) };
    }
    for (const c of riff.chunks) {
      if (c.id === 'LIST') {
        for (const e of (await readInfo(reader, c)) ?? []) meta.texts.push({ kind: 'riff:info', key: e.id, text: e.text, carrier: carrier('wav:LIST-INFO', c) });
      } else if (c.id === 'C2PA' && !meta.c2pa) meta.c2pa = carrier('wav:C2PA', c);
      else if (c.id === 'AIGC') {
        // A TC260 implicit label as its own chunk, seen in the wild (labelling-standards.md §4.4).
        const text = Buffer.from(await reader.read(c.dataOffset, c.size)).toString('utf8').replace(/\0+$/, '');
        meta.texts.push({ kind: 'riff:chunk', key: 'AIGC', text, carrier: carrier('wav:AIGC', c) });
      } else if (ID3_IDS.includes(c.id)) {
        const inner = new BufferReader(await reader.read(c.dataOffset, c.size), `${reader.name} ${c.id.trim()} chunk`);
        const sub: AvMetadata = { format: 'wav', texts: [] };
        id3Metadata(await readId3Tag(inner, 0), sub);
        const shift = (k: Carrier): Carrier => ({ ...k, offset: k.offset + c.dataOffset });
        for (const t of sub.texts) meta.texts.push({ ...t, carrier: shift(t.carrier) });
        if (sub.xmp && !meta.xmp) meta.xmp = { packet: sub.xmp.packet, carrier: shift(sub.xmp.carrier) };
        if (sub.c2pa && !meta.c2pa) meta.c2pa = shift(sub.c2pa);
      }
    }
    return meta;
  },

  async planWrite(reader: ByteReader, _meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan> {
    const riff = await readWav(reader);
    const dataIndex = riff.chunks.findIndex((c) => c.id === 'data');
    if (dataIndex < 0) throw corrupt(FORMAT, "no 'data' chunk");
    const xmpChunk = riff.chunks.find((c) => c.id === '_PMX') ?? riff.chunks.find((c) => c.id === 'XMP ');
    let infoChunk: RiffChunk | undefined;
    let info: InfoEntry[] | undefined;
    for (const c of riff.chunks) {
      if (c.id !== 'LIST' || infoChunk) continue;
      info = await readInfo(reader, c);
      if (info) infoChunk = c;
    }
    const comment = mergeCommentField(info?.find((e) => e.id === 'ICMT')?.text, write.comment, write.previousComment);
    const newInfo = infoList([...(info ?? []).filter((e) => e.id !== 'ICMT').map((e) => e.raw), infoEntry('ICMT', comment)]);
    const newXmp = riffChunk(xmpChunk?.id ?? '_PMX', write.xmp);

    const body: Piece[] = [];
    riff.chunks.forEach((c, i) => {
      if (i === dataIndex) {
        if (!infoChunk) body.push({ bytes: newInfo });
        if (!xmpChunk) body.push({ bytes: newXmp });
      }
      if (c === infoChunk) return void body.push({ bytes: newInfo });
      if (c === xmpChunk) return void body.push({ bytes: newXmp });
      if (c.id === 'C2PA' && write.stripC2pa) return;
      if (c.storedSize !== undefined) {
        // A streamed chunk gets its real size, so the output is a complete, seekable WAV.
        if (c.size > 0xffffffff) throw new TamgaError('METADATA_TOO_LARGE', 'the WAV data exceeds the 4 GiB RIFF limit', { size: c.size });
        const h = concat([ascii(c.id), new Uint8Array(4)]);
        putU32le(h, 4, c.size);
        body.push({ bytes: h }, { copy: [c.dataOffset, c.end] });
      } else body.push({ copy: [c.offset, c.end] });
      // A missing pad byte of an odd chunk is restored when another chunk may follow it.
      if (c.end - c.dataOffset < c.size + (c.size & 1)) body.push({ bytes: new Uint8Array(1) });
    });
    const riffBytes = 4 + planLength(body);
    if (riffBytes > 0xfffffffe) throw new TamgaError('METADATA_TOO_LARGE', 'the WAV file would exceed the 4 GiB RIFF limit', { size: riffBytes + 8 });
    const size = new Uint8Array(4);
    putU32le(size, 0, riffBytes);
    const trailing: Piece[] = riff.sizeFromFile ? [] : [{ copy: [riff.end, reader.size] }];
    return [{ copy: [0, 4] }, { bytes: size }, { copy: [8, 12] }, ...body, ...trailing];
  },
};
