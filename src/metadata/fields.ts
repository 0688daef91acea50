import type { Provenance } from '../core/provenance.js';
import { tc260Fields } from '../metadata/xmp.js';

/**
 * The text fields tamga writes into audio and video containers beside XMP: the TC260 generic
 * extension-field JSON under `AIGC` (labelling-standards.md §4.4, as seen in ID3 TXXX) and
 * tamga's record under `tamga`, which also remembers the disclosure line it wrote so a relabel
 * replaces that comment instead of adding a second one.
 */

export { AIGC_FIELD, DISCLOSURE_DESCRIPTION, TAMGA_FIELD } from '../formats/fields.js';

export interface TamgaRecord extends Provenance {
  /** The disclosure comment written with this record. */
  disclosure?: string;
}

/**
 * JSON with `/` written as `\/` (same value to any JSON parser): ID3v2.3 readers such as
 * music-metadata split text values at `/`, the 2.3 multi-value separator, and the disclosure
 * line joins its languages with ` / `.
 */
const jsonForTags = (v: unknown): string => JSON.stringify(v).replace(/\//g, '\\/');

/** `{"AIGC":{...}}`: the seven GB 45438 Appendix E elements in their order. */
export function aigcJson(p: Provenance): string {
  return jsonForTags({ AIGC: tc260Fields(p) });
}

export function tamgaRecordJson(p: Provenance, disclosure: string): string {
  return jsonForTags({ ...p, disclosure } satisfies TamgaRecord);
}

/** tamga's record from a text field, or undefined when the text is not one. */
export function parseTamgaRecord(text: string): TamgaRecord | undefined {
  try {
    const j = JSON.parse(text) as Partial<TamgaRecord> | null;
    if (!j || typeof j !== 'object' || typeof j.contentId !== 'string' || typeof j.digitalSourceType !== 'string') return undefined;
    return j as TamgaRecord;
  } catch {
    return undefined;
  }
}
