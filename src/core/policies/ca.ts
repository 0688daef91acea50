import type { PolicyDefinition, Requirement } from './types.js';
import { VISIBLE } from './shared.js';

/**
 * California SB 942 / AB 853 (labelling-standards.md §6): a latent disclosure (provider, system
 * name and version, time, unique id) in image, video and audio; the manifest (visible) disclosure
 * is an option the provider must offer, so it is reported but never missing. Text is out of scope.
 */
const latent: Requirement = {
  id: 'latent',
  description: 'latent disclosure: provider, AI system, time of creation and a unique id, machine-readable (Bus. & Prof. Code §22757.3(b))',
  accepts: ['latent-disclosure'],
};
const manifest: Requirement = { id: 'manifest', description: 'manifest disclosure offered to the user (§22757.3(a))', accepts: VISIBLE, optional: true };

export const caPolicy: PolicyDefinition = {
  id: 'ca',
  title: 'California AI Transparency Act, SB 942 as amended by AB 853',
  law: 'Bus. & Prof. Code §§22757-22757.6',
  requirements: { image: [latent, manifest], audio: [latent, manifest], video: [latent, manifest], text: [], pdf: [latent, manifest] },
};
