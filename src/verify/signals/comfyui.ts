import type { Finding } from '../../core/types.js';
import { brief, parseJsonObject, signal, stringValues, textChunks, type SignalDetector } from './types.js';

/**
 * ComfyUI (§8.2): PNG text `prompt` (API graph: node id -> { class_type, inputs }) and `workflow`
 * (UI graph: { nodes: [...] }). Either alone is strong. Animated WebP saves put them in EXIF IFD0
 * Make (`workflow:{...}`) and Model (`prompt:{...}`): not a camera, so they are read here.
 */
function promptGraph(text: string): { nodes: number; models: string[] } | undefined {
  const g = parseJsonObject(text);
  if (!g) return undefined;
  const nodes = Object.values(g).filter((n): n is { class_type: string; inputs?: Record<string, unknown> } => typeof (n as { class_type?: unknown })?.class_type === 'string');
  if (nodes.length === 0) return undefined;
  const models = nodes.map((n) => brief(n.inputs?.['ckpt_name'] ?? n.inputs?.['unet_name'])).filter((m): m is string => Boolean(m));
  return { nodes: nodes.length, models: [...new Set(models)].slice(0, 3) };
}

function workflowGraph(text: string): { nodes: number } | undefined {
  const g = parseJsonObject(text);
  const nodes = g?.['nodes'];
  if (!Array.isArray(nodes) || !nodes.some((n) => typeof (n as { type?: unknown })?.type === 'string')) return undefined;
  return { nodes: nodes.length };
}

export const comfyuiDetector: SignalDetector = {
  id: 'comfyui',
  detect(ctx) {
    const out: Finding[] = [];
    const fmt = ctx.format ?? 'png';
    for (const t of textChunks(ctx.findings, 'prompt')) {
      const g = promptGraph(t.text);
      if (g) out.push(signal(`${fmt}:comfyui-prompt`, 'strong', { generator: 'ComfyUI', ...g }, t.where));
    }
    for (const t of textChunks(ctx.findings, 'workflow')) {
      const g = workflowGraph(t.text);
      if (g) out.push(signal(`${fmt}:comfyui-workflow`, 'strong', { generator: 'ComfyUI', ...g }, t.where));
    }
    for (const t of [...stringValues(ctx.findings, 'exif:make'), ...stringValues(ctx.findings, 'exif:model')]) {
      const m = /^(workflow|prompt):/.exec(t.text);
      if (!m) continue;
      const body = t.text.slice(m[0].length);
      const g = m[1] === 'prompt' ? promptGraph(body) : workflowGraph(body);
      if (g) out.push(signal(`exif:comfyui-${m[1]}`, 'strong', { generator: 'ComfyUI', ...g }, t.where));
    }
    return out;
  },
};
