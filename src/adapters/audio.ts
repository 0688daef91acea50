import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { AudioFormat, DetectOptions, Finding, Format } from '../core/types.js';
import { addAudibleCue, detectAudibleCue } from '../disclosure/cue.js';
import { AV_CONTAINERS, detectAv, prepareAv, type MediaStep } from './av.js';
import { addAudioWatermark } from '../watermark/audio-layer.js';
import { embedAudioWatermark, MIN_AUDIO_SECONDS } from '../watermark/audio.js';
import { watermarkIdOf } from '../watermark/payload.js';
import { probe } from '../media/ffmpeg.js';
import type { LabelSteps, MediaAdapter, ResolvedLabelOptions } from './types.js';

const AUDIO_FORMATS: readonly AudioFormat[] = ['mp3', 'wav', 'flac', 'm4a', 'ogg', 'aac'];

/**
 * The visible layer of audio is audible: the cue (src/media/cue.ts) is added by re-encoding with
 * the input's codec, and so is the watermark when a key is given; otherwise nothing is re-encoded.
 */
async function labelAudio(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<LabelSteps> {
  const steps: MediaStep[] = [];
  steps.push({ layers: ['visible'], run: (input, output) => addAudibleCue(input, format, output, opts.audibleCue ?? {}) });
  const key = opts.watermarkKey;
  if (key) {
    steps.push({ layers: ['watermark'], run: (input, output) => addAudioWatermark(input, format, output, p.contentId, key) });
    // Both: the mark over the cued samples (it covers everything that ships, the cue included), one encode.
    const id = watermarkIdOf(p.contentId);
    steps.push({ layers: ['visible', 'watermark'], run: (input, output) => addAudibleCue(input, format, output, opts.audibleCue ?? {}, (pcm, rate) => embedAudioWatermark(pcm, rate, id, key)) });
  }
  const cannot: LabelSteps['cannot'] = {};
  if (key && reader.path) {
    const seconds = Number((await probe(reader.path)).format.duration ?? NaN);
    if (seconds < MIN_AUDIO_SECONDS) cannot.watermark = `the audio lasts ${seconds.toFixed(2)} s, shorter than one ${MIN_AUDIO_SECONDS.toFixed(2)} s block of the watermark`;
  }
  return prepareAv(reader, format, p, opts, steps, cannot);
}

/** Metadata, then (decoding) the audible cue and, with a key, the watermark. */
const detectAudio = (reader: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]> => detectAv(reader, format, opts, 'audio', detectAudibleCue);

/** Audio: the machine-readable label in each container's own tags plus XMP, and the audible cue. */
export const audioAdapter: MediaAdapter = {
  kind: 'audio',
  formats: AUDIO_FORMATS.filter((f) => AV_CONTAINERS[f]),
  prepare: labelAudio,
  detect: detectAudio,
};
