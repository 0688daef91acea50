import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import { rmSync } from 'node:fs';
import type { DetectOptions, Finding, Format, Layer, VideoFormat } from '../core/types.js';
import { badgeSpecFor } from '../disclosure/apply.js';
import { AV_CONTAINERS, detectAv, labelAvMetadata, labelTranscoded } from '../media/metadata-label.js';
import { addOnScreenLabel, detectOnScreenLabel, videoEncoding } from '../media/overlay.js';
import { probe } from '../media/ffmpeg.js';
import { watermarkIdOf } from '../watermark/payload.js';
import { embedVideoWatermark } from '../watermark/video.js';
import type { AdapterLabelOutput, MediaAdapter, ResolvedLabelOptions } from './types.js';

const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'mov', 'webm', 'mkv', 'avi'];

/** The visible layer re-encodes the video with the badge (src/media/overlay.ts); otherwise the metadata write is lossless. */
async function labelVideo(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  const key = opts.watermarkKey;
  if (!opts.visible && !key) return labelAvMetadata(reader, format, p, opts);
  const spec = badgeSpecFor(p, opts);
  const onScreen = opts.onScreen ?? {};
  const layers: Layer[] = [...(opts.visible ? (['visible'] as const) : []), ...(key ? (['watermark'] as const) : [])];
  const mark = async (input: string, output: string) => {
    const v = (await probe(input)).streams.find((s) => s.codec_type === 'video');
    await embedVideoWatermark(input, output, watermarkIdOf(p.contentId), key!, { encoding: videoEncoding(format, v?.codec_name, onScreen) });
  };
  return labelTranscoded(
    reader,
    format,
    p,
    opts,
    async (input, output) => {
      if (!key) return void (await addOnScreenLabel(input, format, output, spec, onScreen));
      if (!opts.visible) return mark(input, output);
      // Badge first, then the mark over the frames as they ship (badge included).
      const badged = `${output}.badge.${format}`;
      try {
        await addOnScreenLabel(input, format, badged, spec, onScreen);
        await mark(badged, output);
      } finally {
        rmSync(badged, { force: true });
      }
    },
    layers,
  );
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
