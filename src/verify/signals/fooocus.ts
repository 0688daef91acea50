import type { Finding } from '../../core/types.js';
import { brief, parseJsonObject, signal, textChunks, type SignalDetector } from './types.js';

/**
 * Fooocus (§8.3): JSON in PNG `parameters` (with a `fooocus_scheme` chunk beside it) or `Comment`,
 * and in the JPEG comment. Its keys (`base_model`, `performance`, `adm_guidance`, `full_prompt`...)
 * are what tell it apart from other JSON.
 */
const FOOOCUS_KEYS = ['performance', 'adm_guidance', 'full_prompt', 'full_negative_prompt', 'styles', 'refiner_model'];

function isFooocusJson(j: Record<string, unknown>): boolean {
  return 'base_model' in j && FOOOCUS_KEYS.some((k) => k in j);
}

export const fooocusDetector: SignalDetector = {
  id: 'fooocus',
  detect(ctx) {
    const out: Finding[] = [];
    const fmt = ctx.format ?? 'png';
    const scheme = textChunks(ctx.findings, 'fooocus_scheme')[0];
    for (const keyword of ['parameters', 'Comment', 'comment']) {
      for (const t of textChunks(ctx.findings, keyword)) {
        const j = parseJsonObject(t.text);
        if (!j || !(isFooocusJson(j) || (scheme && 'base_model' in j))) continue;
        const model = brief(j['base_model']);
        const version = brief(j['version']);
        out.push(signal(`${fmt}:fooocus-parameters`, 'strong', { generator: 'Fooocus', ...(model ? { model } : {}), ...(version ? { version } : {}) }, t.where));
      }
    }
    return out;
  },
};
