import type { Finding } from '../../core/types.js';
import { parseJsonObject, signal, textChunks, type SignalDetector } from './types.js';

/**
 * NovelAI (§8.4): PNG text `Software` = `NovelAI`, `Source` = the model, `Comment` = JSON with the
 * sampling settings (`steps`, `sampler`, `seed`, `scale`, `uc`). Software alone is a generator
 * string (weak); with the settings JSON it is the generator's own parameter block (strong).
 */
export function isNovelAiSettings(j: Record<string, unknown> | undefined): boolean {
  return Boolean(j && 'sampler' in j && 'seed' in j && ('uc' in j || 'steps' in j));
}

export const novelaiDetector: SignalDetector = {
  id: 'novelai',
  detect(ctx) {
    const software = textChunks(ctx.findings, 'Software').find((t) => t.text.trim() === 'NovelAI');
    const source = textChunks(ctx.findings, 'Source').find((t) => /novelai|stable diffusion/i.test(t.text));
    if (!software && !source) return [];
    const settings = textChunks(ctx.findings, 'Comment').find((t) => isNovelAiSettings(parseJsonObject(t.text)));
    const out: Finding[] = [];
    const model = source?.text.trim().slice(0, 80);
    if (settings && (software || source)) out.push(signal(`${ctx.format ?? 'png'}:novelai-parameters`, 'strong', { generator: 'NovelAI', ...(model ? { model } : {}) }, settings.where));
    else if (software) out.push(signal(`${ctx.format ?? 'png'}:novelai-software`, 'weak', { generator: 'NovelAI' }, software.where));
    return out;
  },
};
