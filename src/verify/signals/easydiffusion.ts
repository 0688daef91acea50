import { signal, textChunks, type SignalDetector } from './types.js';

/** EasyDiffusion (§8.3) writes one PNG text chunk per setting; these two names are its own. */
const OWN_KEYS = ['use_stable_diffusion_model', 'num_inference_steps'];

export const easyDiffusionDetector: SignalDetector = {
  id: 'easydiffusion',
  detect(ctx) {
    const hits = OWN_KEYS.flatMap((k) => textChunks(ctx.findings, k));
    if (hits.length === 0) return [];
    return [signal(`${ctx.format ?? 'png'}:easydiffusion-parameters`, 'strong', { generator: 'Easy Diffusion' }, hits[0]!.where)];
  },
};
