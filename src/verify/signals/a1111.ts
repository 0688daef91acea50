import type { Finding } from '../../core/types.js';
import { brief, signal, stringValues, textChunks, type SignalDetector } from './types.js';

/**
 * AUTOMATIC1111 / Forge / SD.Next infotext (labelling-standards.md §8.1): PNG text `parameters`,
 * or the same text in EXIF UserComment for JPEG/WebP. The settings line starts with `Steps:` and
 * names the sampler and seed; that line, not the prompt, is what identifies the format.
 */
const SETTINGS_LINE = /(?:^|\n)(Steps: \d+,[^\n]*)/;

/** `key: value` pairs of the settings line (values may be quoted and contain commas). */
export function parseInfotextSettings(text: string): Record<string, string> | undefined {
  const line = SETTINGS_LINE.exec(text)?.[1];
  if (!line || !/\bSampler: /.test(line) || !/\bSeed: /.test(line)) return undefined;
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/\s*([A-Za-z][\w ()/-]*): ("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/g)) out[m[1]!.trim()] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

/** Which UI wrote the infotext, from its `Version` field (Forge versions start with `f`). */
function generatorOf(settings: Record<string, string>, text: string): string {
  const version = settings['Version'] ?? '';
  if (/fooocus/i.test(version)) return 'Fooocus';
  if (/^f\d/.test(version)) return 'Forge';
  if (text.includes('sui_image_params')) return 'SwarmUI';
  return 'AUTOMATIC1111';
}

function infotextSignal(kind: string, text: string, where?: string): Finding | undefined {
  const settings = parseInfotextSettings(text);
  if (!settings) return undefined;
  const model = brief(settings['Model']);
  const version = brief(settings['Version']);
  return signal(kind, 'strong', { generator: generatorOf(settings, text), ...(model ? { model } : {}), ...(version ? { version } : {}) }, where);
}

export const a1111Detector: SignalDetector = {
  id: 'a1111',
  detect(ctx) {
    const out: Finding[] = [];
    for (const t of textChunks(ctx.findings, 'parameters')) {
      const f = infotextSignal(`${ctx.format ?? 'png'}:a1111-parameters`, t.text, t.where);
      if (f) out.push(f);
    }
    for (const t of stringValues(ctx.findings, 'exif:user-comment')) {
      const f = infotextSignal('exif:a1111-parameters', t.text, t.where);
      if (f) out.push(f);
    }
    return out;
  },
};
