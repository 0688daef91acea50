import type { Finding, Format, MediaKind } from '../../core/types.js';
import { GRADE_CONFIDENCE, type Grade, type SignalValue } from '../types.js';

/** Files larger than this are not loaded whole for pixel detectors (64 MiB). */
export const LOAD_LIMIT = 64 * 1024 * 1024;

/** What a signal detector sees: the findings `detect()` returned, and the file for detectors that read pixels. */
export interface SignalContext {
  findings: readonly Finding[];
  format?: Format;
  kind?: MediaKind;
  /** The caller allows pixel decodes (`visible` not false); with false, detectors read headers and metadata only. */
  pixels?: boolean;
  /** The file's first `n` bytes (fewer if the file is shorter), read on demand. */
  head(n: number): Promise<Uint8Array>;
  /**
   * The whole file, read on first call and cached, for the few detectors that decode pixels;
   * undefined above LOAD_LIMIT bytes, so a scan's memory stays bounded whatever it meets.
   */
  load(): Promise<Uint8Array | undefined>;
  /** The file's path when the source is a file (detectors that hand it to ffmpeg). */
  path?: string;
  /** The ledger file to match against (VerifyOptions.ledger). */
  ledger?: string;
}

/**
 * One source of evidence of synthetic origin. Detectors are independent and registered in
 * signals/index.ts; each turns findings (or, rarely, pixels) into `signal` findings with a grade.
 */
export interface SignalDetector {
  readonly id: string;
  detect(ctx: SignalContext): Finding[] | Promise<Finding[]>;
}

/** A signal finding with its grade carried in both `value.grade` and `confidence`. */
export function signal(kind: string, grade: Grade, details: Omit<SignalValue, 'grade'>, where?: string): Finding {
  return { layer: 'signal', kind, value: { grade, ...details }, confidence: GRADE_CONFIDENCE[grade], ...(where ? { where } : {}) };
}

/** The text of `png:text` / `*:comment` findings with this keyword (case-sensitive, as PNG keywords are). */
export function textChunks(findings: readonly Finding[], keyword: string): { text: string; where?: string }[] {
  const out: { text: string; where?: string }[] = [];
  for (const f of findings) {
    if (f.layer !== 'signal' || !/:(text|comment)$/.test(f.kind)) continue;
    const v = f.value as { keyword?: string; text?: string } | undefined;
    if (v?.keyword === keyword && typeof v.text === 'string') out.push({ text: v.text, ...(f.where ? { where: f.where } : {}) });
  }
  return out;
}

/** String values of findings of one kind (EXIF and XMP text fields). */
export function stringValues(findings: readonly Finding[], kind: string): { text: string; where?: string }[] {
  return findings.filter((f) => f.kind === kind && typeof f.value === 'string').map((f) => ({ text: f.value as string, ...(f.where ? { where: f.where } : {}) }));
}

/** JSON.parse that returns undefined instead of throwing (generator metadata is often not JSON). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const t = text.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Short strings only: evidence values stay small in reports (prompts are never copied). */
export function brief(v: unknown, max = 120): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v);
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
