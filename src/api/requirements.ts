import { TamgaError } from '../core/errors.js';
import { POLICY_DEFINITIONS } from '../core/policies/index.js';
import { AI_CLASSES, LATENT_FIELDS, type LatentField } from '../core/policies/shared.js';
import type { LabelMark, Requirement } from '../core/policies/types.js';
import { classifyDigitalSourceType, type Provenance } from '../core/provenance.js';
import type { MediaKind, Policy } from '../core/types.js';
import type { WritableLayer } from '../adapters/types.js';

/**
 * What `label` writes, in the verifier's vocabulary: the label marks (core/policies/types.ts) each
 * layer gives a scan of the output, so the policy table the verifier judges by (core/policies) also
 * says, before anything is written, whether a label will pass it. test/api/agreement.test.ts labels
 * every format under every policy and scans the result: it holds this table to the verifier.
 */

/** The option (and CLI flag) that turns a layer on, for messages. */
export const LAYER_OPTION: Record<WritableLayer, string> = {
  visible: 'visible (--visible)',
  metadata: 'metadata (on unless --no-metadata)',
  watermark: 'watermarkKey (--watermark-key)',
  c2pa: 'c2pa (--c2pa with --c2pa-cert and --c2pa-key)',
};

const LATENT_OPTION: Record<LatentField, string> = {
  provider: 'provenance.provider (--provider)',
  system: 'provenance.generator (--generator)',
  time: 'provenance.createdAt',
  id: 'provenance.contentId',
};

const nonEmpty = (v: string | undefined): boolean => typeof v === 'string' && v.trim() !== '' && v !== 'unknown';

/** The latent-disclosure fields (SB 942) a layer carries for this provenance. */
function latentFieldsOf(layer: WritableLayer, kind: MediaKind, p: Provenance): LatentField[] {
  if (layer === 'c2pa') return [...LATENT_FIELDS]; // signer, claim generator, signing time, manifest URN
  if (layer !== 'metadata') return [];
  // Text's markers carry the content id, the time and the source type, not the producer's fields.
  if (kind === 'text') return ['time', 'id'];
  const out: LatentField[] = ['time', 'id'];
  if (nonEmpty(p.provider)) out.push('provider');
  if (nonEmpty(p.generator?.name)) out.push('system');
  return out;
}

/** The marks a scan finds in an output that carries `layers` (scanned with the watermark key, when one was used). */
export function marksOf(layers: ReadonlySet<WritableLayer>, kind: MediaKind, p: Provenance): { marks: Set<LabelMark>; latentMissing: LatentField[] } {
  const marks = new Set<LabelMark>();
  const ai = AI_CLASSES.has(classifyDigitalSourceType(p.digitalSourceType).class);
  if (layers.has('visible')) marks.add('visible-disclosure');
  if (layers.has('watermark')) marks.add('watermark');
  if (layers.has('metadata') && ai) {
    marks.add('tamga-record').add('tc260-implicit-label');
    if (kind !== 'text') marks.add('iptc-ai-source-type');
    // GB 45438 Appendix E: ContentProducer is the provider, else the generator (metadata/xmp.ts tc260Fields).
    if (nonEmpty(p.provider) || nonEmpty(p.generator?.name)) marks.add('tc260-implicit-label-complete');
  }
  if (layers.has('c2pa') && ai) marks.add('c2pa-ai-claim').add('c2pa-signed-ai-claim');
  const latent = new Set<LatentField>();
  for (const l of layers) for (const f of latentFieldsOf(l, kind, p)) latent.add(f);
  const declaresAi = ['iptc-ai-source-type', 'tc260-implicit-label', 'tamga-record', 'c2pa-ai-claim'].some((m) => marks.has(m as LabelMark));
  const latentMissing = LATENT_FIELDS.filter((f) => !latent.has(f));
  if (declaresAi && latentMissing.length === 0) marks.add('latent-disclosure');
  return { marks, latentMissing };
}

/** The layer that gives each mark (the remedy a message names). */
const LAYER_OF_MARK: Record<LabelMark, WritableLayer> = {
  'visible-disclosure': 'visible',
  'iptc-ai-source-type': 'metadata',
  'tc260-implicit-label': 'metadata',
  'tc260-implicit-label-complete': 'metadata',
  'tamga-record': 'metadata',
  'c2pa-ai-claim': 'c2pa',
  'c2pa-signed-ai-claim': 'c2pa',
  watermark: 'watermark',
  'latent-disclosure': 'metadata',
};

/** The requirements of `policy` for `kind` that a label must meet (optional and deepfake-only ones are the caller's call). */
export function labelRequirements(policy: Policy, kind: MediaKind): Requirement[] {
  return POLICY_DEFINITIONS[policy].requirements[kind].filter((r) => !r.optional && r.when === undefined);
}

/** The layers a policy asks for by default on this kind: visible when the law requires a perceivable disclosure. */
export function policyWantsVisible(policy: Policy, kind: MediaKind): boolean {
  return labelRequirements(policy, kind).some((r) => r.accepts.length === 1 && r.accepts[0] === 'visible-disclosure');
}

/** What would supply one requirement on this medium, as option names (and CLI flags). */
function remedies(r: Requirement, layers: ReadonlySet<WritableLayer>, cannot: Partial<Record<WritableLayer, string>>, latentMissing: readonly LatentField[]): string[] {
  const out = new Set<string>();
  for (const m of r.accepts) {
    const layer = LAYER_OF_MARK[m];
    if (cannot[layer]) continue;
    if (m === 'tc260-implicit-label-complete') out.add(`${layers.has('metadata') ? '' : `${LAYER_OPTION.metadata} with `}${LATENT_OPTION.provider} or ${LATENT_OPTION.system}`);
    else if (m === 'latent-disclosure') {
      out.add(latentMissing.map((f) => LATENT_OPTION[f]).join(' and ') + (layers.has('metadata') ? '' : ` with ${LAYER_OPTION.metadata}`));
      if (!cannot.c2pa) out.add(LAYER_OPTION.c2pa);
    } else if (!layers.has(layer)) out.add(LAYER_OPTION[layer]);
  }
  return [...out];
}

/**
 * Fails before anything is written when `layers` would not satisfy `policy` for this kind (rule 3:
 * what `label --policy P` writes, `scan --policy P` rates `labelled`). The message names each
 * requirement that would be missing and the options that supply it on this medium.
 */
export function checkPolicyMet(name: string, policy: Policy, kind: MediaKind, p: Provenance, layers: ReadonlySet<WritableLayer>, cannot: Partial<Record<WritableLayer, string>>): void {
  const { marks, latentMissing } = marksOf(layers, kind, p);
  const unmet = labelRequirements(policy, kind).filter((r) => !r.accepts.some((m) => marks.has(m)));
  if (!unmet.length) return;
  const parts = unmet.map((r) => {
    const fix = remedies(r, layers, cannot, latentMissing);
    return `${r.id} (${r.description}): ${fix.length ? `give ${fix.join(', or ')}` : `a ${kind} file cannot carry it`}`;
  });
  throw new TamgaError(
    'POLICY_UNMET',
    `${name}: policy ${policy} needs, for ${kind}, ${parts.join('; ')}. Nothing was written (the verifier would rate this label ${unmet.length === labelRequirements(policy, kind).length ? 'unlabelled' : 'partially-labelled'})`,
    { policy, kind, missing: unmet.map((r) => r.id) },
  );
}
