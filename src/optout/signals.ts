/**
 * Training-data opt-out: the vocabulary of every machine-readable reservation tamga reads, mapped
 * to one verdict per signal, and the rule that combines them (labelling-standards.md §9).
 *
 * A verdict answers "may this work be used for <purpose>?": `reserved` (the rights holder said no,
 * or only under a licence), `allowed` (said yes), `unknown` (no applicable statement). Kazakh law
 * Art. 23 allows training unless a machine-readable prohibition exists, so `unknown` is not a "no";
 * but the check must be logged, and the most restrictive applicable signal decides.
 */

export type OptOutVerdict = 'reserved' | 'allowed' | 'unknown';

/**
 * What the caller wants to do with the works. Reservations have scopes (all text and data mining,
 * any AI training, generative AI training only); a reservation applies when its scope covers the
 * purpose: a "no generative training" statement says nothing about training a classifier.
 */
export type OptOutPurpose = 'genai-training' | 'ai-training' | 'tdm';
export const OPTOUT_PURPOSES: readonly OptOutPurpose[] = ['genai-training', 'ai-training', 'tdm'];

/** The uses a signal speaks about, from broadest to narrowest. `inference` is not training. */
export type SignalScope = 'tdm' | 'ai-training' | 'genai-training' | 'inference' | 'search';

/** Where a signal came from. Stable strings: they are part of the JSON report and the audit log. */
export type SignalSource =
  | 'xmp:plus-data-mining'
  | 'c2pa:training-mining'
  | 'tdmrep:html-meta'
  | 'tdmrep:json'
  | 'tdmrep:http-header'
  | 'robots-meta'
  | 'x-robots-tag'
  | 'robots.txt'
  | 'ai.txt'
  | 'aipref:content-usage';

export interface OptOutSignal {
  source: SignalSource;
  /** This signal's answer for the purpose of the check. */
  verdict: OptOutVerdict;
  /** What the signal speaks about (a reservation outside the purpose is `unknown` for it). */
  scope: SignalScope;
  /** The statement as found, e.g. `http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED`, `tdm-reservation: 1`. */
  value: string;
  /** The carrier: a file and place, e.g. `photo.jpg#jpeg:APP1-XMP@20`, `data/tdmrep.json[1]`, `crawl.warc.gz@1234`. */
  where: string;
  /** A licence or policy pointer when the reservation names one (tdm-policy, constraint_info, plus:OtherConstraints). */
  policy?: string;
  /** True for signed statements (C2PA): the strongest per-asset evidence. */
  signed?: boolean;
}

const SCOPE_RANK: Record<SignalScope, number> = { tdm: 0, 'ai-training': 1, 'genai-training': 2, inference: 99, search: 99 };
const PURPOSE_RANK: Record<OptOutPurpose, number> = { tdm: 0, 'ai-training': 1, 'genai-training': 2 };

/** tdm covers every AI training; AI training covers generative training; inference and search cover no training. */
export function scopeCovers(scope: SignalScope, purpose: OptOutPurpose): boolean {
  return SCOPE_RANK[scope] <= PURPOSE_RANK[purpose];
}

/** Builds a signal whose verdict is `stated` when its scope covers the purpose, else `unknown`. */
export function makeSignal(
  purpose: OptOutPurpose,
  s: Omit<OptOutSignal, 'verdict'> & { stated: OptOutVerdict },
): OptOutSignal {
  const { stated, source, ...rest } = s;
  return { source, verdict: stated !== 'unknown' && scopeCovers(s.scope, purpose) ? stated : 'unknown', ...rest };
}

// ---------------------------------------------------------------------------------------------
// IPTC / PLUS plus:DataMining (§9.2)

/**
 * Every value of the PLUS DataMining vocabulary. The three "see ..." values are prohibitions that
 * point to where the terms are (a licence may exist), so they reserve: using the work needs the
 * terms first. EXCEPTSEARCHENGINEINDEXING reserves all mining but search indexing.
 */
export const PLUS_DATA_MINING: Readonly<Record<string, { stated: OptOutVerdict; scope: SignalScope; meaning: string }>> = {
  'DMI-UNSPECIFIED': { stated: 'unknown', scope: 'tdm', meaning: 'no prohibition defined' },
  'DMI-ALLOWED': { stated: 'allowed', scope: 'tdm', meaning: 'data mining allowed' },
  'DMI-PROHIBITED-AIMLTRAINING': { stated: 'reserved', scope: 'ai-training', meaning: 'prohibited for AI/ML training' },
  'DMI-PROHIBITED-GENAIMLTRAINING': { stated: 'reserved', scope: 'genai-training', meaning: 'prohibited for generative AI/ML training' },
  'DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING': { stated: 'reserved', scope: 'tdm', meaning: 'prohibited except for search engine indexing' },
  'DMI-PROHIBITED': { stated: 'reserved', scope: 'tdm', meaning: 'prohibited' },
  'DMI-PROHIBITED-SEECONSTRAINT': { stated: 'reserved', scope: 'tdm', meaning: 'prohibited, see plus:OtherConstraints' },
  'DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR': { stated: 'reserved', scope: 'tdm', meaning: 'prohibited, see the embedded rights expression' },
  'DMI-PROHIBITED-SEELINKEDRIGHTSEXPR': { stated: 'reserved', scope: 'tdm', meaning: 'prohibited, see the linked rights expression' },
};

/**
 * The vocabulary code of a plus:DataMining value: the full URI (http or https), a bare code, any
 * case (`DMI-Allowed` is seen in the wild), or a prefixed legacy form (`Iptc4xmpExt:DMI-...`).
 */
export function plusDataMiningCode(value: string): string | undefined {
  const m = /DMI-[A-Za-z-]+$/.exec(value.trim());
  if (!m) return undefined;
  const code = m[0].toUpperCase();
  return code in PLUS_DATA_MINING ? code : undefined;
}

export function plusDataMiningSignal(purpose: OptOutPurpose, value: string, where: string, otherConstraints?: string): OptOutSignal {
  const code = plusDataMiningCode(value);
  // An unrecognised value is a statement we cannot read: recorded, decides nothing.
  const entry = code ? PLUS_DATA_MINING[code]! : { stated: 'unknown' as const, scope: 'tdm' as const };
  return makeSignal(purpose, {
    source: 'xmp:plus-data-mining',
    stated: entry.stated,
    scope: entry.scope,
    value,
    where,
    ...(otherConstraints && code === 'DMI-PROHIBITED-SEECONSTRAINT' ? { policy: otherConstraints } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// C2PA / CAWG training-and-data-mining assertion (§3.5, §9.3)

/** Entry keys without their `c2pa.` / `cawg.` prefix; third-party keys are opaque. */
const TRAINING_MINING_KEYS: Readonly<Record<string, SignalScope>> = {
  data_mining: 'tdm',
  // Read broadly (any AI training): the safe side for a reservation check.
  ai_training: 'ai-training',
  ai_generative_training: 'genai-training',
  ai_inference: 'inference',
};

const USE_VERDICT: Readonly<Record<string, OptOutVerdict>> = {
  notallowed: 'reserved',
  // A constrained use needs the terms in constraint_info first: reserved until licensed.
  constrained: 'reserved',
  allowed: 'allowed',
};

/**
 * Signals from a training-mining assertion body, `{ entries: { "cawg.ai_generative_training":
 * { use, constraint_info? } } }`. `label` is the assertion label when known (`cawg.training-mining`
 * or the C2PA 1.x `c2pa.training-mining`). `signed` is false when the manifest failed validation:
 * the statement is still reported and still reserves (the conservative reading), but not as signed.
 */
export function trainingMiningSignals(purpose: OptOutPurpose, body: unknown, where: string, label?: string, signed = true): OptOutSignal[] {
  const entries = body && typeof body === 'object' && 'entries' in body ? (body as { entries: unknown }).entries : body;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) return [];
  const out: OptOutSignal[] = [];
  for (const [key, entry] of Object.entries(entries as Record<string, unknown>)) {
    const m = /^(c2pa|cawg)\.(.+)$/.exec(key);
    const scope = m ? TRAINING_MINING_KEYS[m[2]!] : undefined;
    if (!scope || !entry || typeof entry !== 'object') continue;
    const use = String((entry as { use?: unknown }).use ?? '');
    const info = (entry as { constraint_info?: unknown }).constraint_info;
    out.push(
      makeSignal(purpose, {
        source: 'c2pa:training-mining',
        stated: USE_VERDICT[use.toLowerCase()] ?? 'unknown',
        scope,
        value: `${label ? `${label} ` : ''}${key}: ${use}`,
        where,
        signed,
        ...(typeof info === 'string' && info ? { policy: info } : {}),
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// W3C TDMRep (§9.1)

/** `1` reserves, `0` does not; anything else (including the withdrawn `2`) is a protocol error: unset. */
export function tdmReservationVerdict(value: unknown): OptOutVerdict {
  const v = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  return v === '1' ? 'reserved' : v === '0' ? 'allowed' : 'unknown';
}

export function tdmrepSignal(
  purpose: OptOutPurpose,
  source: 'tdmrep:html-meta' | 'tdmrep:json' | 'tdmrep:http-header',
  reservation: unknown,
  policy: string | undefined,
  where: string,
): OptOutSignal {
  return makeSignal(purpose, {
    source,
    stated: tdmReservationVerdict(reservation),
    scope: 'tdm',
    value: `tdm-reservation: ${String(reservation)}`,
    where,
    ...(policy ? { policy } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// noai / noimageai in robots meta and X-Robots-Tag (§9.6)

/**
 * `noai` reserves every AI use; `noimageai` only images. Directives may be scoped to one crawler
 * in X-Robots-Tag (`GPTBot: noai`); a scoped directive still states the holder's reservation.
 */
export function robotsDirectiveSignals(
  purpose: OptOutPurpose,
  source: 'robots-meta' | 'x-robots-tag',
  content: string,
  isImage: boolean,
  where: string,
): OptOutSignal[] {
  const out: OptOutSignal[] = [];
  for (const raw of content.split(',')) {
    const token = raw.trim().toLowerCase().replace(/^[^:]*:\s*/, '');
    if (token !== 'noai' && token !== 'noimageai') continue;
    const applies = token === 'noai' || isImage;
    out.push(makeSignal(purpose, { source, stated: applies ? 'reserved' : 'unknown', scope: 'ai-training', value: raw.trim(), where }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// IETF aipref Content-Usage (§9.5, draft: names may change)

const AIPREF_SCOPES: Readonly<Record<string, SignalScope>> = {
  'train-ai': 'ai-training',
  'train-genai': 'genai-training',
  bots: 'tdm',
  search: 'search',
};

/** `train-ai=n, train-genai=n` (an RFC 9651 dictionary of y/n tokens) -> one signal per known key. */
export function contentUsageSignals(purpose: OptOutPurpose, header: string, where: string): OptOutSignal[] {
  const out: OptOutSignal[] = [];
  for (const member of header.split(',')) {
    const [k, v] = member.split(';')[0]!.split('=').map((s) => s.trim().toLowerCase());
    const scope = k ? AIPREF_SCOPES[k] : undefined;
    if (!scope) continue;
    const stated: OptOutVerdict = v === 'n' ? 'reserved' : v === 'y' ? 'allowed' : 'unknown';
    out.push(makeSignal(purpose, { source: 'aipref:content-usage', stated, scope, value: member.trim(), where }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Combining

/** Signed statements first, then per-asset embedded ones, then site/dataset-wide ones. */
const SOURCE_STRENGTH: Record<SignalSource, number> = {
  'c2pa:training-mining': 0,
  'xmp:plus-data-mining': 1,
  'tdmrep:http-header': 2,
  'x-robots-tag': 2,
  'aipref:content-usage': 2,
  'tdmrep:html-meta': 3,
  'robots-meta': 3,
  'tdmrep:json': 4,
  'ai.txt': 5,
  'robots.txt': 5,
};

export interface OptOutDecision {
  verdict: OptOutVerdict;
  /** The signal that decided: the strongest reserving one, else the strongest allowing one. */
  decisive?: OptOutSignal;
}

/** The most restrictive applicable signal wins: any reservation beats any permission. */
export function decide(signals: readonly OptOutSignal[]): OptOutDecision {
  for (const verdict of ['reserved', 'allowed'] as const) {
    const matching = signals.filter((s) => s.verdict === verdict);
    if (matching.length) {
      const decisive = matching.reduce((a, b) => (SOURCE_STRENGTH[b.source] < SOURCE_STRENGTH[a.source] ? b : a));
      return { verdict, decisive };
    }
  }
  return { verdict: 'unknown' };
}
