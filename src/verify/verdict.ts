import type { Finding, MediaKind } from '../core/types.js';
import { labelMarks } from './marks.js';
import { c2paIntegrityFailures, type C2paManifestValue } from './signals/c2pa.js';
import { GRADES, type FileVerdict, type Grade, type PolicyDefinition, type RequirementResult, type SignalValue, type VerifyOptions } from './types.js';

/** Broken labels: a malformed XMP packet, a TC260 field that is not JSON, a tampered C2PA manifest. */
export function labelProblems(findings: readonly Finding[]): string[] {
  const out: string[] = [];
  for (const f of findings) {
    if (f.kind === 'xmp:malformed') out.push(`xmp:malformed: ${String(f.value)}`);
    if (f.kind.endsWith(':tc260-aigc') && f.value && typeof f.value === 'object' && 'raw' in f.value) out.push(`${f.kind}: not the JSON object GB 45438 Appendix E requires`);
    if (f.kind === 'c2pa:manifest') for (const c of c2paIntegrityFailures(f.value as C2paManifestValue)) out.push(`c2pa:manifest: ${c}`);
  }
  return out;
}

const gradeRank = (g: Grade): number => GRADES.length - GRADES.indexOf(g);

/** The strongest grade among the evidence, the AI systems it names and, apart, the providers (when any). */
export function strongestEvidence(evidence: readonly Finding[]): { grade: Grade; generators: string[]; providers?: string[] } | null {
  let best: Grade | undefined;
  const generators = new Set<string>();
  const providers = new Set<string>();
  for (const e of evidence) {
    const v = e.value as SignalValue;
    if (!best || gradeRank(v.grade) > gradeRank(best)) best = v.grade;
    if (typeof v.generator === 'string') generators.add(v.generator);
    if (typeof v.provider === 'string') providers.add(v.provider);
  }
  return best ? { grade: best, generators: [...generators], ...(providers.size ? { providers: [...providers] } : {}) } : null;
}

type Decision = Pick<FileVerdict, 'verdict' | 'synthetic' | 'missing' | 'requirements' | 'problems'>;

/**
 * The verdict for one file (architecture.md): `invalid` when a label is broken; otherwise, with
 * evidence of AI generation at or above `minGrade`, `labelled` / `partially-labelled` /
 * `unlabelled` by how many of the policy's required layers are present; else `not-synthetic`.
 */
export function decideVerdict(findings: readonly Finding[], evidence: readonly Finding[], policy: PolicyDefinition, kind: MediaKind, opts: VerifyOptions): Decision {
  const { marks, latentMissing } = labelMarks(findings);
  const requirements: RequirementResult[] = policy.requirements[kind].map((r) => {
    const by = r.accepts.filter((m) => marks.has(m));
    const required = !r.optional && (r.when !== 'deepfake' || Boolean(opts.deepfake));
    const res: RequirementResult = { id: r.id, required, satisfied: by.length > 0, by };
    if (r.id === 'latent' && by.length === 0) res.missingFields = latentMissing;
    return res;
  });
  const problems = labelProblems(findings);
  const min = gradeRank(opts.minGrade ?? 'weak');
  const synthetic = strongestEvidence(evidence.filter((e) => gradeRank((e.value as SignalValue).grade) >= min));
  if (problems.length) return { verdict: 'invalid', synthetic, missing: [], requirements, problems };
  if (!synthetic) return { verdict: 'not-synthetic', synthetic: null, missing: [], requirements };
  const required = requirements.filter((r) => r.required);
  const missing = required.filter((r) => !r.satisfied).map((r) => r.id);
  const verdict = missing.length === 0 ? 'labelled' : missing.length < required.length ? 'partially-labelled' : 'unlabelled';
  return { verdict, synthetic, missing, requirements };
}
