import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import { rmSync } from 'node:fs';
import type { AudioFormat, DetectOptions, Finding, Format, Layer } from '../core/types.js';
import { addAudibleCue, detectAudibleCue } from '../media/cue.js';
import { AV_CONTAINERS, detectAv, labelAvMetadata, labelTranscoded } from '../media/metadata-label.js';
import { addAudioWatermark } from '../watermark/audio-layer.js';
import type { AdapterLabelOutput, MediaAdapter, ResolvedLabelOptions } from './types.js';

const AUDIO_FORMATS: readonly AudioFormat[] = ['mp3', 'wav', 'flac', 'm4a', 'ogg', 'aac'];

/**
 * The visible layer of audio is audible: the cue (src/media/cue.ts) is added by re-encoding with
 * the input's codec, and so is the watermark when a key is given; otherwise nothing is re-encoded.
 */
async function labelAudio(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  const key = opts.watermarkKey;
  if (!opts.visible && !key) return labelAvMetadata(reader, format, p, opts);
  const layers: Layer[] = [...(opts.visible ? (['visible'] as const) : []), ...(key ? (['watermark'] as const) : [])];
  return labelTranscoded(
    reader,
    format,
    p,
    opts,
    async (input, output) => {
      if (!key) return addAudibleCue(input, format, output, opts.audibleCue ?? {});
      if (!opts.visible) return addAudioWatermark(input, format, output, p.contentId, key);
      // Cue first, then the mark over everything that ships (the cue included).
      const cued = `${output}.cue.${format}`;
      try {
        await addAudibleCue(input, format, cued, opts.audibleCue ?? {});
        await addAudioWatermark(cued, format, output, p.contentId, key);
      } finally {
        rmSync(cued, { force: true });
      }
    },
    layers,
  );
}

/** Metadata, then (decoding) the audible cue and, with a key, the watermark. */
const detectAudio = (reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> => detectAv(reader, format, opts, 'audio', detectAudibleCue);

/** Audio: the machine-readable label in each container's own tags plus XMP, and the audible cue. */
export const audioAdapter: MediaAdapter = {
  kind: 'audio',
  formats: AUDIO_FORMATS.filter((f) => AV_CONTAINERS[f]),
  label: labelAudio,
  detect: detectAudio,
};
