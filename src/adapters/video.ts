import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import { TamgaError } from '../core/errors.js';
import type { DetectOptions, Finding, Format, VideoFormat } from '../core/types.js';
import { badgeSpecFor } from '../disclosure/apply.js';
import { AV_CONTAINERS, detectAvMetadata, labelAvMetadata, labelTranscoded } from '../media/metadata-label.js';
import { addOnScreenLabel, detectOnScreenLabel } from '../media/overlay.js';
import type { AdapterLabelOutput, MediaAdapter, ResolvedLabelOptions } from './types.js';

const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'mov', 'webm', 'mkv', 'avi'];

/** The visible layer re-encodes the video with the badge (src/media/overlay.ts); otherwise the metadata write is lossless. */
async function labelVideo(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  if (!opts.visible) return labelAvMetadata(reader, format, p, opts);
  const spec = badgeSpecFor(p, opts);
  return labelTranscoded(reader, format, p, opts, async (input, output) => {
    await addOnScreenLabel(input, format, output, spec, opts.onScreen ?? {});
  });
}

async function detectVideo(reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> {
  const findings = await detectAvMetadata(reader, format, opts);
  // `visible` (default on) asks for the perceptual scan: a few decoded frames through the badge detector.
  if (opts.visible === false || !reader.path) return findings;
  try {
    findings.push(...(await detectOnScreenLabel(reader.path)));
  } catch (e) {
    if (!(e instanceof TamgaError && e.code === 'FFMPEG_FAILED')) throw e;
    findings.push({ layer: 'signal', kind: 'video:undecodable', value: e.message, confidence: 1 });
  }
  return findings;
}

/** Video: the machine-readable label in the container's metadata plus XMP, and the on-screen badge. */
export const videoAdapter: MediaAdapter = {
  kind: 'video',
  formats: VIDEO_FORMATS.filter((f) => AV_CONTAINERS[f]),
  label: labelVideo,
  detect: detectVideo,
};
