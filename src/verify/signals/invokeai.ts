import type { Finding } from '../../core/types.js';
import { brief, parseJsonObject, signal, textChunks, type SignalDetector } from './types.js';

/**
 * InvokeAI (§8.3): v3+ `invokeai_metadata` (JSON; `invokeai_graph` beside it), v2 `sd-metadata`
 * (JSON with `app_id`/`model_weights`/`image`), legacy `Dream` (a CLI line with `-s`/`-S` flags).
 */
export const invokeaiDetector: SignalDetector = {
  id: 'invokeai',
  detect(ctx) {
    const out: Finding[] = [];
    const fmt = ctx.format ?? 'png';
    for (const keyword of ['invokeai_metadata', 'invokeai_graph']) {
      for (const t of textChunks(ctx.findings, keyword)) {
        const j = parseJsonObject(t.text);
        if (!j) continue;
        const m = j['model'] as { model_name?: unknown; name?: unknown } | undefined;
        const model = brief(m?.model_name ?? m?.name);
        out.push(signal(`${fmt}:invokeai-metadata`, 'strong', { generator: 'InvokeAI', ...(model ? { model } : {}) }, t.where));
      }
    }
    for (const t of textChunks(ctx.findings, 'sd-metadata')) {
      const j = parseJsonObject(t.text);
      if (!j || !('image' in j || 'model_weights' in j || 'app_id' in j)) continue;
      const model = brief(j['model_weights']);
      const version = brief(j['app_version']);
      out.push(signal(`${fmt}:invokeai-sd-metadata`, 'strong', { generator: 'InvokeAI', ...(model ? { model } : {}), ...(version ? { version } : {}) }, t.where));
    }
    for (const t of textChunks(ctx.findings, 'Dream')) {
      if (/\s-s\s*\d+\b/.test(t.text) && /\s-S\s*\d+\b/.test(t.text)) out.push(signal(`${fmt}:invokeai-dream`, 'strong', { generator: 'InvokeAI' }, t.where));
    }
    return out;
  },
};
