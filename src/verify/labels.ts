import type { DetectResult } from '../core/types.js';
import { labelMarks, MACHINE_READABLE_AI_MARKS } from './marks.js';

export { AI_CLASSES } from './marks.js';

/**
 * Whether a machine reads the file as AI-generated: an IPTC AI source type, a TC260 implicit label,
 * tamga's record in any carrier, or a C2PA manifest whose actions declare AI (and whose integrity
 * holds). The same marks the verifier's policies accept (src/verify/marks.ts).
 */
export function hasMachineReadableLabel(r: DetectResult): boolean {
  const { marks } = labelMarks(r.findings);
  return MACHINE_READABLE_AI_MARKS.some((m) => marks.has(m));
}
