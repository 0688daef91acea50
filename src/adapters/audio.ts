import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { AudioFormat, DetectOptions, Finding, Format } from '../core/types.js';
import { addAudibleCue, detectAudibleCue } from '../media/cue.js';
import { AV_CONTAINERS, detectAv, labelAvMetadata, labelTranscoded } from '../media/metadata-label.js';
import type { AdapterLabelOutput, MediaAdapter, ResolvedLabelOptions } from './types.js';

const AUDIO_FORMATS: readonly AudioFormat[] = ['mp3', 'wav', 'flac', 'm4a', 'ogg', 'aac'];

/**
 * The visible layer of audio is audible: the cue (src/media/cue.ts) is added by re-encoding with
 * the input's codec; without the visible layer nothing is re-encoded.
 */
async function labelAudio(reader: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  if (!opts.visible) return labelAvMetadata(reader, format, p, opts);
  return labelTranscoded(reader, format, p, opts, (input, output) => addAudibleCue(input, format, output, opts.audibleCue ?? {}));
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
