import { randomBytes } from 'node:crypto';
import { TamgaError } from './errors.js';

/** IPTC Digital Source Type scheme base (http, not https: the canonical form). */
export const IPTC_DST_BASE = 'http://cv.iptc.org/newscodes/digitalsourcetype/';

/** The IPTC terms tamga writes. Readers accept every term (see `classifyDigitalSourceType`). */
export const WRITABLE_SOURCE_TYPES = [
  'trainedAlgorithmicMedia',
  'compositeWithTrainedAlgorithmicMedia',
  'compositeSynthetic',
  'algorithmicMedia',
] as const;
export type DigitalSourceType = (typeof WRITABLE_SOURCE_TYPES)[number];

export type HumanContribution = 'none' | 'prompt' | 'edited' | 'composited';
const HUMAN_CONTRIBUTIONS: readonly HumanContribution[] = ['none', 'prompt', 'edited', 'composited'];

/** The one record that travels through every layer (architecture.md, "The payload"). */
export interface Provenance {
  digitalSourceType: DigitalSourceType;
  generator?: { name: string; version?: string };
  provider?: string;
  model?: string;
  createdAt: string;
  contentId: string;
  humanContribution?: HumanContribution;
  jurisdictions?: string[];
}

export type ProvenanceInput = Partial<Omit<Provenance, 'generator'>> & {
  generator?: { name: string; version?: string } | string;
};

export function digitalSourceTypeUri(t: string): string {
  return IPTC_DST_BASE + t;
}

export type SourceTypeClass = 'ai-generated' | 'ai-modified' | 'synthetic-non-ml' | 'possibly-ai' | 'not-ai' | 'unknown';

const DST_CLASSES: Record<string, SourceTypeClass> = {
  trainedAlgorithmicMedia: 'ai-generated',
  compositeWithTrainedAlgorithmicMedia: 'ai-modified',
  compositeSynthetic: 'ai-modified',
  algorithmicMedia: 'synthetic-non-ml',
  virtualRecording: 'possibly-ai',
  composite: 'possibly-ai',
  digitalCapture: 'not-ai',
  computationalCapture: 'not-ai',
  negativeFilm: 'not-ai',
  positiveFilm: 'not-ai',
  print: 'not-ai',
  minorHumanEdits: 'not-ai',
  humanEdits: 'not-ai',
  algorithmicallyEnhanced: 'not-ai',
  digitalArt: 'not-ai',
  digitalCreation: 'not-ai',
  dataDrivenMedia: 'not-ai',
  screenCapture: 'not-ai',
  compositeCapture: 'not-ai',
  softwareImage: 'unknown',
};

/**
 * Normalises any written form of a Digital Source Type (full URI, https URI, bare term) to
 * `{ uri, term, class }`. Unknown terms keep their text and get class `unknown`.
 */
export function classifyDigitalSourceType(value: string): { uri: string; term: string; class: SourceTypeClass } {
  const v = value.trim();
  const m = /^https?:\/\/cv\.iptc\.org\/newscodes\/digitalsourcetype\/([A-Za-z]+)\/?$/.exec(v);
  if (m) {
    const term = m[1]!;
    return { uri: IPTC_DST_BASE + term, term, class: DST_CLASSES[term] ?? 'unknown' };
  }
  const c2pa = /^https?:\/\/c2pa\.org\/digitalsourcetype\/([A-Za-z]+)\/?$/.exec(v);
  if (c2pa) {
    const term = c2pa[1]!;
    return { uri: `http://c2pa.org/digitalsourcetype/${term}`, term, class: term === 'trainedAlgorithmicData' ? 'ai-generated' : 'unknown' };
  }
  if (/^[A-Za-z]+$/.test(v) && v in DST_CLASSES) return { uri: IPTC_DST_BASE + v, term: v, class: DST_CLASSES[v]! };
  return { uri: v, term: v, class: 'unknown' };
}

/** UUID v7 (RFC 9562): 48-bit Unix ms timestamp, version 7, variant 10, random rest. */
let randomPool = Buffer.alloc(0);
let randomAt = 0;
/** Random bytes from a 4 KiB pool: one CSPRNG call per 400 ids instead of one per id. */
function pooledRandom(n: number): Buffer {
  if (randomAt + n > randomPool.length) {
    randomPool = randomBytes(4096);
    randomAt = 0;
  }
  randomAt += n;
  return randomPool.subarray(randomAt - n, randomAt);
}

export function uuidv7(now = Date.now()): string {
  const b = Buffer.alloc(16);
  pooledRandom(10).copy(b, 6);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function invalid(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

/** Parses `NAME[/VERSION]` as the CLI's --generator takes it. */
export function parseGenerator(s: string): { name: string; version?: string } {
  const i = s.lastIndexOf('/');
  const name = (i > 0 ? s.slice(0, i) : s).trim();
  const version = i > 0 ? s.slice(i + 1).trim() : undefined;
  if (!name) throw invalid('generator', `expected NAME or NAME/VERSION, got ${JSON.stringify(s)}`);
  return version ? { name, version } : { name };
}

const MAX_FIELD = 512;
function checkText(option: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(option, `expected a string, got ${typeof v}`);
  const t = v.trim();
  if (!t) throw invalid(option, 'must not be empty');
  if (t.length > MAX_FIELD) throw invalid(option, `at most ${MAX_FIELD} characters`);
  // Control characters cannot be written to XMP (XML 1.0) or EXIF ASCII.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(t)) throw invalid(option, 'contains control characters');
  return t;
}

/** Validates caller input and fills the defaults (type, time, id). */
export function makeProvenance(input: ProvenanceInput = {}): Provenance {
  const dst = input.digitalSourceType ?? 'trainedAlgorithmicMedia';
  if (!(WRITABLE_SOURCE_TYPES as readonly string[]).includes(dst)) {
    throw invalid('digitalSourceType', `expected one of ${WRITABLE_SOURCE_TYPES.join(', ')}, got ${JSON.stringify(dst)}`);
  }
  const p: Provenance = {
    digitalSourceType: dst,
    createdAt: input.createdAt ?? new Date().toISOString(),
    contentId: input.contentId ?? uuidv7(),
  };
  if (Number.isNaN(Date.parse(p.createdAt))) throw invalid('createdAt', `not an ISO 8601 date: ${JSON.stringify(p.createdAt)}`);
  checkText('contentId', p.contentId);
  if (input.generator !== undefined) {
    const g = typeof input.generator === 'string' ? parseGenerator(input.generator) : input.generator;
    const name = checkText('generator.name', g.name)!;
    const version = checkText('generator.version', g.version);
    p.generator = version ? { name, version } : { name };
  }
  const provider = checkText('provider', input.provider);
  if (provider) p.provider = provider;
  const model = checkText('model', input.model);
  if (model) p.model = model;
  if (input.humanContribution !== undefined) {
    if (!HUMAN_CONTRIBUTIONS.includes(input.humanContribution)) {
      throw invalid('humanContribution', `expected one of ${HUMAN_CONTRIBUTIONS.join(', ')}`);
    }
    p.humanContribution = input.humanContribution;
  }
  if (input.jurisdictions !== undefined) {
    if (!Array.isArray(input.jurisdictions)) throw invalid('jurisdictions', 'expected an array of codes');
    p.jurisdictions = input.jurisdictions.map((j) => {
      const t = checkText('jurisdictions', j)!.toUpperCase();
      if (!/^[A-Z]{2,3}(-[A-Z0-9]{1,3})?$/.test(t)) throw invalid('jurisdictions', `expected codes like KZ, EU, CN, US-CA; got ${JSON.stringify(j)}`);
      return t;
    });
  }
  return p;
}
