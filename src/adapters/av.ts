import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TamgaError } from '../core/errors.js';
import type { Provenance } from '../core/provenance.js';
import { FileReader, MAX_STREAM_BYTES, type ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format } from '../core/types.js';
import { c2paStoreFindings, xmpFindings, xmpLabelFor } from './image.js';
import type { LabelSteps, ReencodeLayer, ResolvedLabelOptions, StepOutput } from './types.js';
import { flacContainer } from '../formats/flac.js';
import { mp3Container } from '../formats/id3.js';
import { isobmffContainer } from '../formats/isobmff.js';
import { matroskaContainer } from '../formats/matroska.js';
import { oggContainer } from '../formats/ogg.js';
import { whereOf, type AvContainer, type AvMetadata } from '../formats/types.js';
import { wavContainer } from '../formats/wav.js';
import { mergeXmp, parseTc260 } from '../metadata/xmp.js';
import { avWatermarkFindings } from '../watermark/file.js';
import { watermarkKeysOf } from '../watermark/keys.js';
import { AIGC_FIELD, TAMGA_FIELD, aigcJson, parseTamgaRecord, tamgaRecordJson } from '../metadata/fields.js';

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

/** The lossless metadata step: the container's own text fields plus XMP; samples and frames are copied. */
async function avMetadataStep(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions, known: AvMetadata | undefined, stripC2pa: boolean): Promise<StepOutput> {
  const container = avContainerFor(format);
  const meta = known ?? (await container.read(reader, format));
  const label = xmpLabelFor(p, opts);
  const previous = previousDisclosure(meta);
  const plan = await container.planWrite(reader, meta, {
    xmp: mergeXmp(meta.xmp?.packet, label),
    comment: label.disclosure.line,
    ...(previous ? { previousComment: previous } : {}),
    aigc: aigcJson(p),
    tamga: tamgaRecordJson(p, label.disclosure.line),
    stripC2pa: Boolean(meta.c2pa) && stripC2pa,
  });
  return { plan };
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
 * Runs the re-encoding steps in order, each on the previous one's output (temp files), so a later
 * layer covers what the earlier ones added. The result is opened and unlinked at once (POSIX keeps
 * its data while the reader is open), so a large file is never held in memory. A Buffer source is
 * first written to a temp file for ffmpeg.
 */
async function runSteps(reader: ByteReader, format: Format, steps: readonly MediaStep[]): Promise<ByteReader> {
  const temps: string[] = [];
  const output = tempName(format);
  try {
    let from = reader.path;
    if (!from) {
      from = tempName(format);
      temps.push(from);
      writeFileSync(from, await reader.read(0, reader.size));
    }
    for (const [i, step] of steps.entries()) {
      const to = i === steps.length - 1 ? output : `${output}.step${i}.${format}`;
      if (to !== output) temps.push(to);
      await step.run(from, to);
      from = to;
    }
    return await FileReader.open(output);
  } finally {
    rmSync(output, { force: true });
    for (const t of temps) rmSync(t, { force: true });
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
  /** One layer, or several that the step writes in one decode and one encode. */
  layers: readonly ReencodeLayer[];
  run: (input: string, output: string) => Promise<unknown>;
}

/** The step that writes exactly `layers` in one pass, else the single-layer steps in their order. */
function stepsFor(steps: readonly MediaStep[], layers: ReadonlySet<ReencodeLayer>): MediaStep[] {
  const one = steps.find((s) => s.layers.length === layers.size && s.layers.every((l) => layers.has(l)));
  return one ? [one] : steps.filter((s) => s.layers.length === 1 && layers.has(s.layers[0]!));
}

/**
 * The audio/video steps: the re-encoding layers the medium supplies (`steps`, in the order they
 * must run: the perceivable one first, so the watermark covers it), then the lossless metadata
 * write on the result.
 */
export async function prepareAv(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions, steps: readonly MediaStep[], cannot: LabelSteps['cannot'] = {}): Promise<LabelSteps> {
  const original = await avContainerFor(format).read(reader, format);
  return {
    ...(original.c2pa ? { existingC2pa: whereOf(original.c2pa) } : {}),
    cannot,
    reencode: (input, layers) => runSteps(input, format, stepsFor(steps, layers)),
    metadata: (input, stripC2pa) => avMetadataStep(input, format, p, opts, input === reader ? original : undefined, stripC2pa),
  };
}
