import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, VideoFormat } from '../core/types.js';
import { badgeSpecFor } from '../disclosure/apply.js';
import { AV_CONTAINERS, detectAv, labelAvMetadata, labelTranscoded } from '../media/metadata-label.js';
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

/** Metadata, then (decoding) the on-screen badge and, with a key, the watermark. */
const detectVideo = (reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> => detectAv(reader, format, opts, 'video', detectOnScreenLabel);

/** Video: the machine-readable label in the container's metadata plus XMP, and the on-screen badge. */
export const videoAdapter: MediaAdapter = {
  kind: 'video',
  formats: VIDEO_FORMATS.filter((f) => AV_CONTAINERS[f]),
  label: labelVideo,
  detect: detectVideo,
};
