import type { PolicyDefinition } from './types.js';
import { allKinds, MACHINE_READABLE, VISIBLE } from './shared.js';

/** Kazakhstan (labelling-standards.md §7.1): a machine-readable mark AND a warning a person perceives. */
export const kzPolicy: PolicyDefinition = {
  id: 'kz',
  title: 'Kazakhstan, Law No. 230-VIII "On Artificial Intelligence"',
  law: 'Art. 21(2): synthetic results may be distributed only with a machine-readable mark and a visual or other perceivable warning',
  requirements: allKinds([
    { id: 'visible', description: 'a warning a person perceives without special means (badge, caption, audible cue, page stamp)', accepts: VISIBLE },
    { id: 'machine-readable', description: 'a machine-readable mark: IPTC AI source type, TC260 AIGC, C2PA AI claim, tamga record or keyed watermark', accepts: MACHINE_READABLE },
  ]),
};
