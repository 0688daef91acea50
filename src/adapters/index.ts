import { TamgaError } from '../core/errors.js';
import type { MediaKind, SniffResult } from '../core/types.js';
import { audioAdapter } from './audio.js';
import { imageAdapter } from './image.js';
import { pdfAdapter } from './pdf.js';
import { textAdapter } from './text.js';
import { videoAdapter } from './video.js';
import type { MediaAdapter } from './types.js';

/** One adapter per media kind; kinds without one are recognised but refused with a clear error. */
const ADAPTERS: Partial<Record<MediaKind, MediaAdapter>> = {
  image: imageAdapter,
  audio: audioAdapter,
  video: videoAdapter,
  text: textAdapter,
  pdf: pdfAdapter,
};

/** Whether this version of tamga has an adapter for the sniffed format. */
export function hasAdapter(s: SniffResult): boolean {
  return Boolean(ADAPTERS[s.kind]?.formats.includes(s.format));
}

export function adapterFor(s: SniffResult, name: string): MediaAdapter {
  const a = ADAPTERS[s.kind];
  if (!a || !a.formats.includes(s.format)) {
    throw new TamgaError('UNSUPPORTED_FORMAT', `${name}: ${s.format} (${s.kind}) is recognised but not supported by this version of tamga`, {
      format: s.format,
      kind: s.kind,
    });
  }
  return a;
}
