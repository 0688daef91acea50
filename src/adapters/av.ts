import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderPlan } from '../core/edit.js';
import { TamgaError } from '../core/errors.js';
import type { Provenance } from '../core/provenance.js';
import { FileReader, MAX_STREAM_BYTES, type ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, Layer } from '../core/types.js';
import { c2paStoreFindings, xmpFindings, xmpLabelFor } from './image.js';
import type { AdapterLabelOutput, ResolvedLabelOptions } from './types.js';
import { flacContainer } from '../formats/flac.js';
import { mp3Container } from '../formats/id3.js';
import { isobmffContainer } from '../formats/isobmff.js';
import { matroskaContainer } from '../formats/matroska.js';
import { oggContainer } from '../formats/ogg.js';
import { whereOf, type AvContainer, type AvMetadata } from '../formats/types.js';
import { wavContainer } from '../formats/wav.js';
import { C2PA_SIGNABLE_MIME, signC2pa } from '../metadata/c2pa.js';
import { mergeXmp, parseTc260 } from '../metadata/xmp.js';
import { avWatermarkFindings } from '../watermark/file.js';
import { watermarkKeysOf } from '../watermark/keys.js';
import { AIGC_FIELD, TAMGA_FIELD, aigcJson, parseTamgaRecord, tamgaRecordJson } from '../media/fields.js';

/**
 * The machine-readable layer of audio and video files, shared by the audio and video adapters:
 * one container module per format (src/formats), the same XMP packet as images, plus the text
 * fields each container's own readers show. Lossless: samples and frames are copied.
 */

/** Registry: sniffed format -> container module. */
export const AV_CONTAINERS: Partial<Record<Format, AvContainer>> = {
  mp3: mp3Container,
  wav: wavContainer,
  flac: flacContainer,
  ogg: oggContainer,
  m4a: isobmffContainer,
  mp4: isobmffContainer,
  mov: isobmffContainer,
  webm: matroskaContainer,
  mkv: matroskaContainer,
};

export function avContainerFor(format: Format): AvContainer {
  const c = AV_CONTAINERS[format];
  if (!c) throw new TamgaError('UNSUPPORTED_FORMAT', `'${format}' is recognised but not yet supported for labelling`, { format });
  return c;
}

/** The disclosure an earlier tamga label wrote into this file, so it is replaced, not repeated. */
function previousDisclosure(meta: AvMetadata): string | undefined {
  for (const t of meta.texts) {
    if (t.key.toLowerCase() !== TAMGA_FIELD) continue;
    const r = parseTamgaRecord(t.text);
    if (r?.disclosure) return r.disclosure;
  }
  return undefined;
}

/** The lossless metadata layer alone (the perceivable layer, when asked for, is `labelTranscoded`). */
export async function labelAvMetadata(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  const container = avContainerFor(format);
  const meta = await container.read(reader, format);
  const skipped: AdapterLabelOutput['skipped'] = [];
  if (!opts.metadata) {
    if (!opts.c2pa) throw new TamgaError('INVALID_OPTION', 'nothing to write: metadata is off and no other layer is available', { option: 'metadata' });
    return withC2pa(reader, format, p, opts, { plan: [{ copy: [0, reader.size] }], layers: [], skipped });
  }
  if (meta.c2pa && opts.onExistingC2pa === 'error') {
    throw new TamgaError(
      'C2PA_CONFLICT',
      `${reader.name}: carries a C2PA manifest (${whereOf(meta.c2pa)}); adding metadata would break its hash binding. ` +
        `Use onExistingC2pa 'strip' (--on-c2pa strip) to remove it, or 'ignore' to keep it invalidated`,
      { where: whereOf(meta.c2pa) },
    );
  }
  const label = xmpLabelFor(p, opts);
  const previous = previousDisclosure(meta);
  const plan = await container.planWrite(reader, meta, {
    xmp: mergeXmp(meta.xmp?.packet, label),
    comment: label.disclosure.line,
    ...(previous ? { previousComment: previous } : {}),
    aigc: aigcJson(p),
    tamga: tamgaRecordJson(p, label.disclosure.line),
    stripC2pa: Boolean(meta.c2pa) && opts.onExistingC2pa === 'strip',
  });
  return withC2pa(reader, format, p, opts, { plan, layers: ['metadata'], skipped });
}

/** C2PA is signed last, over the final bytes (as for images). */
async function withC2pa(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions, out: AdapterLabelOutput): Promise<AdapterLabelOutput> {
  if (!opts.c2pa) return out;
  if (!C2PA_SIGNABLE_MIME[format]) {
    return { ...out, skipped: [...out.skipped, { layer: 'c2pa', reason: `c2pa-rs cannot embed a manifest in ${format}` }] };
  }
  const signed = await signC2pa(await renderPlan(reader, out.plan), format, p, opts.c2pa);
  return { plan: [{ bytes: signed }], layers: [...out.layers, 'c2pa'], skipped: out.skipped };
}

export async function detectAvMetadata(reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> {
  const meta = await avContainerFor(format).read(reader, format);
  const includeInfo = !opts.labelsOnly;
  const findings: Finding[] = [];
  if (meta.xmp) findings.push(...xmpFindings(meta.xmp.packet, whereOf(meta.xmp.carrier), includeInfo));
  for (const t of meta.texts) {
    const where = whereOf(t.carrier);
    const family = t.kind.slice(0, t.kind.indexOf(':'));
    const key = t.key.toUpperCase();
    if (key === AIGC_FIELD) {
      const parsed = parseTc260(t.text);
      findings.push({ layer: 'metadata', kind: `${family}:tc260-aigc`, value: parsed ?? { raw: t.text }, confidence: parsed ? 1 : 0.5, where });
    } else if (key === TAMGA_FIELD.toUpperCase()) {
      const record = parseTamgaRecord(t.text);
      if (record) {
        const { disclosure: _disclosure, ...provenance } = record;
        findings.push({ layer: 'metadata', kind: `${family}:tamga`, value: provenance, confidence: 1, where });
      }
    }
    if (includeInfo) findings.push({ layer: 'signal', kind: t.kind, value: { key: t.key, text: t.text, ...(t.lang ? { lang: t.lang } : {}) }, confidence: 1, where });
  }
  if (meta.c2pa) {
    // Validation hashes the whole asset in memory: past the stream limit, report the store unvalidated.
    if (reader.size > MAX_STREAM_BYTES) {
      findings.push({ layer: 'c2pa', kind: 'c2pa:manifest-store', value: { bytes: meta.c2pa.length, validated: false }, confidence: 1, where: whereOf(meta.c2pa) });
    } else findings.push(...(await c2paStoreFindings(reader, format, whereOf(meta.c2pa), opts)));
  }
  return findings;
}

const tempName = (ext: string) => join(tmpdir(), `tamga-${process.pid}-${randomBytes(6).toString('hex')}.${ext}`);

/**
 * The perceivable layer of audio and video re-encodes: `produce` (ffmpeg) writes the new file to
 * a temp path, which is opened and unlinked at once, and the metadata label is planned over it.
 * The entry point streams the result from that reader (`from`) and closes it, so a large file is
 * never held in memory. A Buffer source is first written to a temp file for ffmpeg.
 */
export async function labelTranscoded(
  reader: ByteReader,
  format: Format,
  p: Provenance,
  opts: ResolvedLabelOptions,
  produce: (input: string, output: string) => Promise<void>,
  /** The layers `produce` writes (default the visible one). */
  produced: Layer[] = ['visible'],
): Promise<AdapterLabelOutput> {
  const meta = await avContainerFor(format).read(reader, format);
  if (meta.c2pa && opts.onExistingC2pa === 'error') {
    throw new TamgaError('C2PA_CONFLICT', `${reader.name}: carries a C2PA manifest (${whereOf(meta.c2pa)}) that re-encoding would invalidate; use onExistingC2pa 'strip' or 'ignore'`, { where: whereOf(meta.c2pa) });
  }
  let input = reader.path;
  let inputTemp: string | undefined;
  const output = tempName(format);
  try {
    if (!input) {
      inputTemp = tempName(format);
      writeFileSync(inputTemp, await reader.read(0, reader.size));
      input = inputTemp;
    }
    await produce(input, output);
    const producedFile = await FileReader.open(output);
    try {
      const metadataOpts = { ...opts, visible: false, onExistingC2pa: 'ignore' as const };
      const out = opts.metadata ? await labelAvMetadata(producedFile, format, p, metadataOpts) : await withC2pa(producedFile, format, p, opts, { plan: [{ copy: [0, producedFile.size] }], layers: [], skipped: [] });
      // A signed result is rendered already; otherwise the plan copies from the produced file.
      const copies = out.plan.some((piece) => 'copy' in piece);
      if (!copies) await producedFile.close();
      return { ...out, layers: [...produced, ...out.layers], ...(copies ? { from: producedFile } : {}) };
    } catch (e) {
      await producedFile.close();
      throw e;
    }
  } finally {
    // The open reader keeps the produced file's data alive after its name is gone (POSIX unlink).
    rmSync(output, { force: true });
    if (inputTemp) rmSync(inputTemp, { force: true });
  }
}

/**
 * detect() for audio and video: the metadata findings, then the scans that decode the media —
 * the perceptual one (`scan`: the audible cue, the on-screen badge) unless `visible` is false, and
 * tamga's watermark when a key is given. A file ffmpeg cannot decode still reports its metadata.
 */
export async function detectAv(reader: ByteReader, format: Format, opts: DetectOptions, kind: 'audio' | 'video', scan: (path: string) => Promise<Finding[]>): Promise<Finding[]> {
  const findings = await detectAvMetadata(reader, format, opts);
  const path = reader.path;
  if (!path) return findings;
  const scans: (() => Promise<Finding[]>)[] = [];
  if (opts.visible !== false) scans.push(() => scan(path));
  const keys = watermarkKeysOf(opts);
  if (keys.length) scans.push(() => avWatermarkFindings(path, kind, keys));
  for (const run of scans) {
    try {
      findings.push(...(await run()));
    } catch (e) {
      if (!(e instanceof TamgaError && e.code === 'FFMPEG_FAILED')) throw e;
      findings.push({ layer: 'signal', kind: `${kind}:undecodable`, value: e.message, confidence: 1 });
      break;
    }
  }
  return findings;
}

/** One re-encoding step of the audio/video pipeline (cue, badge, watermark) and the layer it writes. */
export interface MediaStep {
  layer: Layer;
  run: (input: string, output: string) => Promise<unknown>;
}

/**
 * Labels through re-encoding steps run in order, each on the previous one's output (temp files
 * beside the final one), so a later layer covers what the earlier ones added; then the metadata
 * (and C2PA) layer on the result. No steps: the lossless metadata-only path.
 */
export function labelThroughSteps(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions, steps: readonly MediaStep[]): Promise<AdapterLabelOutput> {
  if (!steps.length) return labelAvMetadata(reader, format, p, opts);
  const produce = async (input: string, output: string): Promise<void> => {
    const temps: string[] = [];
    try {
      let from = input;
      for (const [i, step] of steps.entries()) {
        const to = i === steps.length - 1 ? output : `${output}.step${i}.${format}`;
        if (to !== output) temps.push(to);
        await step.run(from, to);
        from = to;
      }
    } finally {
      for (const t of temps) rmSync(t, { force: true });
    }
  };
  return labelTranscoded(reader, format, p, opts, produce, steps.map((s) => s.layer));
}
