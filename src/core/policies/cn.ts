import type { PolicyDefinition } from './types.js';
import { allKinds, VISIBLE } from './shared.js';

/** China (labelling-standards.md §4): an explicit label AND the implicit metadata label with the GB 45438 Appendix E fields. */
export const cnPolicy: PolicyDefinition = {
  id: 'cn',
  title: 'China, Measures for Labeling AI-Generated Synthetic Content + GB 45438-2025',
  law: 'Measures Art. 4-5; GB 45438-2025 §5 (explicit labels) and §6, Appendix E (implicit labels)',
  requirements: allKinds([
    { id: 'explicit', description: 'an explicit label people perceive (text >= 5% of the shortest side, audio cue, on-screen label)', accepts: VISIBLE },
    { id: 'implicit', description: 'TC260 AIGC metadata with Label 1, ContentProducer and ProduceID', accepts: ['tc260-implicit-label-complete'] },
  ]),
};
