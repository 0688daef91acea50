import type { PolicyDefinition, Requirement } from './types.js';
import { MACHINE_READABLE, VISIBLE } from './shared.js';

/**
 * EU AI Act Art. 50 (labelling-standards.md §5): 50(2) machine-readable AND detectable marking
 * (the Code of Practice: signed metadata plus an imperceptible watermark; either one makes the
 * content detectable); 50(4) a visible disclosure for deep fakes and public-interest text.
 */
const machineReadable: Requirement = { id: 'machine-readable', description: 'marked in a machine-readable format (Art. 50(2))', accepts: MACHINE_READABLE };
const detectable: Requirement = {
  id: 'detectable',
  description: 'detectable as AI-generated: a signed C2PA claim or a keyed invisible watermark (Art. 50(2), Code of Practice 1.1)',
  accepts: ['c2pa-signed-ai-claim', 'watermark'],
};
const disclosed: Requirement = { id: 'visible', description: 'a visible disclosure for deep fakes and public-interest text (Art. 50(4))', accepts: VISIBLE, when: 'deepfake' };

export const euPolicy: PolicyDefinition = {
  id: 'eu',
  title: 'EU AI Act, Regulation (EU) 2024/1689',
  law: 'Art. 50(2) and 50(4); Code of Practice on Transparency of AI-Generated Content, Measure 1.1',
  requirements: {
    image: [machineReadable, detectable, disclosed],
    audio: [machineReadable, detectable, disclosed],
    video: [machineReadable, detectable, disclosed],
    text: [machineReadable, disclosed],
    pdf: [machineReadable, disclosed],
  },
};
