import { classifyDigitalSourceType } from '../../core/provenance.js';
import type { C2paManifestReport } from '../../metadata/c2pa.js';
import type { Finding } from '../../core/types.js';
import { brief, signal, type SignalDetector } from './types.js';

/** The value of a `c2pa:manifest` finding (metadata/c2pa.ts). */
export type C2paManifestValue = C2paManifestReport;

/**
 * Failure codes that concern the signing credential (expired, untrusted, missing EKU...), not the
 * integrity of the asset or the claim. A manifest rejected only for these is intact: its claims
 * were signed by someone, just not someone the validator accepts (labelling-standards §3.7).
 */
const CREDENTIAL_CODE = /^(signingCredential|timeStamp|cawg|ocsp)\b/i;
const FAILURE_CODE = /(mismatch|missing|malformed|inaccessible|outOfBounds|invalid|unsupported|notFound|multipleHardBindings|revoked|expired|untrusted|unreadable|failure)$/i;

/** Integrity failures (tampered asset or claim): these make a label `invalid`. */
export function c2paIntegrityFailures(v: C2paManifestValue): string[] {
  const codes = v.statusCodes ?? [];
  const failures = codes.filter((c) => !CREDENTIAL_CODE.test(c) && FAILURE_CODE.test(c));
  if (v.validationState === 'invalid' && failures.length === 0 && !codes.some((c) => CREDENTIAL_CODE.test(c))) return [v.error ?? 'validation failed (no status code given)'];
  return failures;
}

export function c2paAiSourceTypes(v: C2paManifestValue): string[] {
  return (v.digitalSourceTypes ?? []).map((u) => classifyDigitalSourceType(u)).filter((c) => c.class === 'ai-generated' || c.class === 'ai-modified').map((c) => c.term);
}

/** Claim generators and signers of AI services (§8.6, §8.7). Tool identifiers, so single names are safe here. */
const AI_SIGNERS: readonly (readonly [RegExp, string])[] = [
  [/openai|chatgpt|dall[-·_ ]?e/i, 'OpenAI'],
  [/firefly/i, 'Adobe Firefly'],
  [/microsoft[_ ]responsible[_ ]ai|bing[_ ]image[_ ]creator|microsoft[_ ]designer/i, 'Microsoft'],
  [/amazon[_ ]bedrock|titan[_ ]image/i, 'Amazon Bedrock'],
  [/midjourney/i, 'Midjourney'],
  [/imagen|gemini/i, 'Google'],
  [/stability[_ ]?ai/i, 'Stability AI'],
  [/meta[_ ]ai/i, 'Meta AI'],
];

export const c2paDetector: SignalDetector = {
  id: 'c2pa',
  detect(ctx) {
    const out: Finding[] = [];
    for (const f of ctx.findings) {
      if (f.kind !== 'c2pa:manifest') continue;
      const v = f.value as C2paManifestValue;
      const intact = c2paIntegrityFailures(v).length === 0;
      const signedOk = intact && v.validationState !== 'invalid';
      const claimGenerator = brief(v.claimGenerator, 80);
      const terms = c2paAiSourceTypes(v);
      if (terms.length) out.push(signal('c2pa:ai-digital-source-type', signedOk ? 'hard' : intact ? 'strong' : 'weak', { terms, ...(claimGenerator ? { claimGenerator } : {}), validationState: v.validationState }, f.where));
      const who = [v.claimGenerator, v.signer?.subject, v.signer?.issuer].filter((s): s is string => typeof s === 'string');
      for (const [re, name] of AI_SIGNERS) {
        const hit = who.find((s) => re.test(s));
        if (hit) {
          out.push(signal('c2pa:ai-claim-generator', intact ? 'strong' : 'weak', { generator: name, text: brief(hit, 80) }, f.where));
          break;
        }
      }
    }
    return out;
  },
};
