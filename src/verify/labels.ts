import type { DetectResult, Finding } from '../core/types.js';

/** Source-type classes a label declares as synthetic (IPTC terms for AI and for purely algorithmic media). */
export const AI_CLASSES: ReadonlySet<string> = new Set(['ai-generated', 'ai-modified', 'synthetic-non-ml']);

/** A finding that a machine reads as "this is AI-generated": IPTC AI source type, TC260 implicit label, tamga's record. */
export function isMachineReadableAiLabel(f: Finding): boolean {
  if (f.kind === 'xmp:tamga') return true;
  if (f.kind.endsWith('tc260-aigc')) return (f.value as { Label?: string }).Label === '1';
  if (f.kind === 'xmp:iptc-digital-source-type') return AI_CLASSES.has((f.value as { class: string }).class);
  return false;
}

export function hasMachineReadableLabel(r: DetectResult): boolean {
  return r.findings.some(isMachineReadableAiLabel);
}
