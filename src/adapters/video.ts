import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, VideoFormat } from '../core/types.js';
import { badgeSpecFor } from '../disclosure/apply.js';
import { AV_CONTAINERS, detectAv, prepareAv, type MediaStep } from './av.js';
import { addOnScreenLabel, detectOnScreenLabel, videoEncoding } from '../disclosure/overlay.js';
import { probe } from '../media/ffmpeg.js';
import { watermarkIdOf } from '../watermark/payload.js';
import { embedVideoWatermark } from '../watermark/video.js';
import { MIN_WATERMARK_SIDE } from '../watermark/image.js';
import type { LabelSteps, MediaAdapter, ResolvedLabelOptions } from './types.js';

const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'mov', 'webm', 'mkv', 'avi'];

/** The visible layer re-encodes the video with the badge (src/media/overlay.ts); otherwise the metadata write is lossless. */
async function labelVideo(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<LabelSteps> {
  const onScreen = opts.onScreen ?? {};
  const steps: MediaStep[] = [];
  const spec = badgeSpecFor(p, opts);
  steps.push({ layers: ['visible'], run: (input, output) => addOnScreenLabel(input, format, output, spec, onScreen) });
  // After the badge: the mark covers the frames as they ship, the badge included.
  const key = opts.watermarkKey;
  if (key) {
    steps.push({
      layers: ['watermark'],
      run: async (input, output) => {
        const v = (await probe(input)).streams.find((s) => s.codec_type === 'video');
        await embedVideoWatermark(input, output, watermarkIdOf(p.contentId), key, { encoding: videoEncoding(format, v?.codec_name, onScreen) });
      },
    });
  }
  const cannot: LabelSteps['cannot'] = {};
  if (key && reader.path) {
    const v = (await probe(reader.path)).streams.find((s) => s.codec_type === 'video');
    const short = Math.min(v?.width ?? 0, v?.height ?? 0);
    if (short < MIN_WATERMARK_SIDE) cannot.watermark = `the frames are ${short} px on their short side; the watermark needs at least ${MIN_WATERMARK_SIDE} px`;
  }
  return prepareAv(reader, format, p, opts, steps, cannot);
}

/** Metadata, then (decoding) the on-screen badge and, with a key, the watermark. */
const detectVideo = (reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> => detectAv(reader, format, opts, 'video', detectOnScreenLabel);

/** Video: the machine-readable label in the container's metadata plus XMP, and the on-screen badge. */
export const videoAdapter: MediaAdapter = {
  kind: 'video',
  formats: VIDEO_FORMATS.filter((f) => AV_CONTAINERS[f]),
  prepare: labelVideo,
  detect: detectVideo,
};
