import { TamgaError } from './errors.js';
import type { ProvenanceInput } from './provenance.js';
import type { DetectOptions, LabelOptions } from './types.js';

/**
 * Option objects are checked key by key on entry: a misspelt key (`polcy`, `visble`) would
 * otherwise be ignored silently and the default applied, which for a labeller means a file
 * labelled other than the caller asked. The key lists are typed against the interfaces, so a new
 * option that is not added here fails the type check.
 */

/** Every key of T, each once: the compiler refuses a list that misses or adds one. */
export type KeyList<T> = { readonly [K in keyof Required<T>]: true };
export const keys = <T>(list: KeyList<T>): readonly string[] => Object.keys(list);

export const LABEL_OPTION_KEYS = keys<LabelOptions>({
  policy: true, visible: true, position: true, size: true, metadata: true, lang: true, disclosureText: true, onExistingC2pa: true,
  output: true, inPlace: true, overwrite: true, c2pa: true, reserveTraining: true, textPosition: true, jsonFields: true,
  watermarkKey: true, firstPageNotice: true, audibleCue: true, onScreen: true, ledger: true,
});

export const DETECT_OPTION_KEYS = keys<DetectOptions>({ labelsOnly: true, visible: true, ocr: true, trustAnchors: true, syncReads: true, watermarkKey: true, watermarkKeys: true, pdfStampPages: true });

export const PROVENANCE_INPUT_KEYS = keys<ProvenanceInput>({
  digitalSourceType: true, generator: true, provider: true, model: true, createdAt: true, contentId: true, humanContribution: true, jurisdictions: true,
});

/** Levenshtein distance, for the "did you mean" of a misspelt key (keys are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Throws INVALID_OPTION for a key of `opts` that is not in `known` (`what` names the object in the
 * message, e.g. "label option"). `prefix` qualifies nested objects (`c2pa.`). Undefined values count:
 * `{ visble: undefined }` is still a misspelling.
 */
export function rejectUnknownOptions(opts: object | undefined, known: readonly string[], what: string, prefix = ''): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TamgaError('INVALID_OPTION', `${prefix ? prefix.slice(0, -1) : what}: expected an object of ${what}s`, { option: prefix.slice(0, -1) || what });
  for (const key of Object.keys(opts)) {
    if (known.includes(key)) continue;
    const near = known.map((k) => [k, distance(key.toLowerCase(), k.toLowerCase())] as const).sort((x, y) => x[1] - y[1])[0];
    const hint = near && near[1] <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean ${prefix}${near[0]}?)` : '';
    throw new TamgaError('INVALID_OPTION', `${prefix}${key}: not a ${what}${hint}; known: ${known.join(', ')}`, { option: `${prefix}${key}` });
  }
}

const C2PA_OPTION_KEYS = ['cert', 'key', 'signer', 'reserveTraining'] as const;

/** label()'s two objects, and the `c2pa` one inside the options. */
export function rejectUnknownLabelOptions(provenance: ProvenanceInput | undefined, opts: LabelOptions | undefined): void {
  rejectUnknownOptions(provenance, PROVENANCE_INPUT_KEYS, 'provenance field');
  rejectUnknownOptions(opts, LABEL_OPTION_KEYS, 'label option');
  if (opts?.c2pa !== undefined) rejectUnknownOptions(opts.c2pa, C2PA_OPTION_KEYS, 'c2pa option', 'c2pa.');
}
