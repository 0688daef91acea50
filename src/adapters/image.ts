import { TamgaError } from '../core/errors.js';
import type { Provenance } from '../core/provenance.js';
import { renderPlan } from '../core/edit.js';
import { BufferReader, type ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, ImageFormat } from '../core/types.js';
import { disclosureLine, disclosureTexts } from '../disclosure/catalogue.js';
import { visibleStep } from '../disclosure/apply.js';
import { watermarkFindings, watermarkImageStep } from '../watermark/image-layer.js';
import { watermarkKeysOf } from '../watermark/keys.js';
import { pixelFindings } from '../verify/visible.js';
import { gifContainer } from '../formats/gif.js';
import { jpegContainer } from '../formats/jpeg.js';
import { pngContainer } from '../formats/png.js';
import { webpContainer } from '../formats/riff.js';
import { decodeUserComment, readTiffTextTags, tiffContainer } from '../formats/tiff.js';
import { whereOf, type ContainerMetadata, type ImageContainer } from '../formats/types.js';
import { c2paFindings, signC2pa } from '../metadata/c2pa.js';
import { findingsFromXmp, mergeXmp, parseTc260, parseXmp, TRAINING_RESERVATION, type XmpLabel } from '../metadata/xmp.js';
import type { AdapterLabelOutput, MediaAdapter, ResolvedLabelOptions } from './types.js';

/** Registry: sniffed format -> container module. A new container is one file plus one line here. */
export const IMAGE_CONTAINERS: Partial<Record<ImageFormat, ImageContainer>> = {
  jpeg: jpegContainer,
  png: pngContainer,
  webp: webpContainer,
  tiff: tiffContainer,
  gif: gifContainer,
};

function containerFor(format: Format): ImageContainer {
  const c = IMAGE_CONTAINERS[format as ImageFormat];
  if (!c) throw new TamgaError('UNSUPPORTED_FORMAT', `image format '${format}' is recognised but not yet supported for labelling`, { format });
  return c;
}

const EXIF_IMAGE_DESCRIPTION = 270;

/** XMP padding: 2 KiB lets other tools edit the packet in place (XMP spec part 1, 7.3.2). */
const XMP_PADDING = 2048;

export function xmpLabelFor(p: Provenance, opts: ResolvedLabelOptions): XmpLabel {
  const reservation = opts.reserveTraining ? { dataMining: TRAINING_RESERVATION } : {};
  if (opts.disclosureText) return { provenance: p, disclosure: { line: opts.disclosureText, texts: [] }, ...reservation };
  return {
    provenance: p,
    disclosure: { line: disclosureLine(p.digitalSourceType, opts.langs), texts: disclosureTexts(p.digitalSourceType, opts.langs) },
    ...reservation,
  };
}

async function labelImage(input: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  const container = containerFor(format);
  const original = await container.read(input);
  const skipped: AdapterLabelOutput['skipped'] = [];
  if (original.c2pa && opts.onExistingC2pa === 'error' && (opts.metadata || opts.visible)) {
    throw new TamgaError(
      'C2PA_CONFLICT',
      `${input.name}: carries a C2PA manifest (${whereOf(original.c2pa)}); adding ${opts.visible ? 'a visible badge' : 'metadata'} would break its hash binding. ` +
        `Use onExistingC2pa 'strip' (--on-c2pa strip) to remove it, or 'ignore' to keep it invalidated`,
      { where: whereOf(original.c2pa) },
    );
  }
  // Visible first: it re-encodes the pixels, and the metadata step then writes on the re-encoded file.
  const visible = opts.visible ? await visibleStep(input, format, p, opts) : undefined;
  const layers: AdapterLabelOutput['layers'] = visible ? ['visible'] : [];
  // Then the invisible watermark, on the pixels as they will ship (badge included).
  let reader: ByteReader = visible?.reader ?? input;
  if (opts.watermarkKey) {
    const marked = await watermarkImageStep(reader, format, p.contentId, opts.watermarkKey);
    if ('skipped' in marked) skipped.push({ layer: 'watermark', reason: marked.skipped });
    else {
      reader = marked.reader;
      layers.push('watermark');
    }
  }
  const reencoded = reader !== input;
  const meta = reencoded ? await container.read(reader) : original;
  if (!opts.metadata) return { plan: reencoded ? [{ bytes: await reader.read(0, reader.size) }] : [{ copy: [0, reader.size] }], layers, skipped };
  const label = xmpLabelFor(p, opts);
  const xmp = mergeXmp(meta.xmp?.packet, label, { padding: format === 'jpeg' || format === 'tiff' ? XMP_PADDING : 0 });
  const exifIfd0Text = format === 'jpeg' || format === 'tiff' ? { [EXIF_IMAGE_DESCRIPTION]: label.disclosure.line } : undefined;
  const plan = await container.planWrite(reader, meta, {
    xmp,
    ...(exifIfd0Text ? { exifIfd0Text } : {}),
    stripC2pa: Boolean(meta.c2pa) && opts.onExistingC2pa === 'strip',
  });
  // After a re-encoding step the plan copies from the new bytes, so it is rendered here.
  return { plan: reencoded ? [{ bytes: await renderPlan(reader, plan) }] : plan, layers: [...layers, 'metadata'], skipped };
}

const EXIF_TEXT_FINDINGS: Record<number, { kind: string; layer: Finding['layer'] }> = {
  270: { kind: 'exif:image-description', layer: 'metadata' },
  271: { kind: 'exif:make', layer: 'signal' },
  272: { kind: 'exif:model', layer: 'signal' },
  305: { kind: 'exif:software', layer: 'signal' },
  315: { kind: 'exif:artist', layer: 'signal' },
};

async function exifFindings(reader: ByteReader, meta: ContainerMetadata): Promise<Finding[]> {
  if (!meta.exif) return [];
  const where = whereOf(meta.exif.carrier);
  const source = 'tiff' in meta.exif ? new BufferReader(meta.exif.tiff, `${reader.name} EXIF`) : reader;
  let tags: Awaited<ReturnType<typeof readTiffTextTags>>;
  try {
    tags = await readTiffTextTags(source, 0);
  } catch (e) {
    // A broken EXIF block inside an otherwise readable image is evidence, not a fatal error.
    if (e instanceof TamgaError && 'tiff' in meta.exif) return [{ layer: 'metadata', kind: 'exif:malformed', value: e.message, confidence: 1, where }];
    throw e;
  }
  const out: Finding[] = [];
  for (const [tag, text] of tags.ifd0) {
    const f = EXIF_TEXT_FINDINGS[tag];
    if (f && text) out.push({ layer: f.layer, kind: f.kind, value: text, confidence: 1, where });
  }
  const uc = tags.exif.get(0x9286);
  if (uc !== undefined) {
    const text = typeof uc === 'string' ? uc : decodeUserComment(uc, tags.littleEndian);
    if (text) out.push({ layer: 'signal', kind: 'exif:user-comment', value: text, confidence: 1, where });
  }
  return out;
}

export function xmpFindings(packet: Uint8Array, where: string, includeInfo: boolean): Finding[] {
  try {
    return findingsFromXmp(parseXmp(packet), where, includeInfo);
  } catch (e) {
    if (e instanceof TamgaError) return [{ layer: 'metadata', kind: 'xmp:malformed', value: e.message, confidence: 1, where }];
    throw e;
  }
}

async function detectImage(reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> {
  const meta = await containerFor(format).read(reader);
  const includeInfo = !opts.labelsOnly;
  const findings: Finding[] = [];
  if (meta.xmp) findings.push(...xmpFindings(meta.xmp.packet, whereOf(meta.xmp.carrier), includeInfo));
  if (meta.extendedXmp) findings.push(...xmpFindings(meta.extendedXmp.packet, whereOf(meta.extendedXmp.carrier), includeInfo));
  for (const f of await exifFindings(reader, meta)) if (includeInfo || f.layer !== 'signal') findings.push(f);
  for (const t of meta.texts) {
    const where = whereOf(t.carrier);
    // Doubao writes the TC260 implicit label as a plain PNG text chunk keyed `AIGC` (§4.4).
    if (t.keyword === 'AIGC') {
      const parsed = parseTc260(t.text);
      findings.push({ layer: 'metadata', kind: 'text:tc260-aigc', value: parsed ?? { raw: t.text }, confidence: parsed ? 1 : 0.5, where });
    }
    if (includeInfo) {
      const kind = `${format}:${t.keyword === 'comment' ? 'comment' : 'text'}`;
      findings.push({ layer: 'signal', kind, value: { keyword: t.keyword, text: t.text, ...(t.lang ? { lang: t.lang } : {}) }, confidence: 1, where });
    }
  }
  if (meta.c2pa) findings.push(...(await c2paStoreFindings(reader, format, whereOf(meta.c2pa), opts)));
  findings.push(...(await pixelFindings(reader, opts)));
  // One decode of the pixels; every key is tried on it.
  const keys = watermarkKeysOf(opts);
  if (keys.length) findings.push(...(await watermarkFindings(reader, keys)));
  return findings;
}

/**
 * C2PA is signed last, over the final bytes: whatever the visible, watermark and metadata steps
 * planned is rendered first, so the manifest's hard binding covers every byte that ships.
 */
async function labelImageThenSign(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  const out = await labelImage(reader, format, p, opts);
  if (!opts.c2pa) return out;
  const signed = await signC2pa(await renderPlan(reader, out.plan), format, p, opts.c2pa);
  return { plan: [{ bytes: signed }], layers: [...out.layers, 'c2pa'], skipped: out.skipped };
}

/**
 * Validating a manifest hashes the whole asset, so only files whose container has a store are
 * read whole. A carrier c2pa-rs finds no store in is reported as an invalid manifest.
 */
export async function c2paStoreFindings(reader: ByteReader, format: Format, where: string, opts: DetectOptions): Promise<Finding[]> {
  const found = await c2paFindings(await reader.read(0, reader.size), format, where, opts.trustAnchors ? { trustAnchors: opts.trustAnchors } : {});
  if (found.length) return found;
  const value = { validationState: 'invalid', digitalSourceTypes: [], actions: [], statusCodes: [], manifests: 0, error: 'c2pa-rs found no manifest store in this carrier', validatedBy: 'c2pa-rs' };
  return [{ layer: 'c2pa', kind: 'c2pa:manifest', value, confidence: 1, where }];
}

export const imageAdapter: MediaAdapter = {
  kind: 'image',
  formats: Object.keys(IMAGE_CONTAINERS) as ImageFormat[],
  label: labelImageThenSign,
  detect: detectImage,
};
