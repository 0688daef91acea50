/**
 * The names of the text fields tamga writes into audio and video containers beside XMP (the
 * values are built in metadata/fields.ts), and the merge rule for single-valued comment fields.
 */

/** Field name (ID3 TXXX description, Vorbis comment name, MP4 freeform name) of the TC260 JSON. */
export const AIGC_FIELD = 'AIGC';
/** Field name of tamga's record. */
export const TAMGA_FIELD = 'tamga';
/** ID3 COMM / MP4 description of the disclosure comment tamga owns. */
export const DISCLOSURE_DESCRIPTION = 'AI disclosure';

/**
 * A single-valued comment field (RIFF ICMT, MP4 ©cmt) that may hold the owner's own comment: the
 * disclosure replaces an earlier tamga disclosure, fills an empty field, or follows the owner's
 * text on a new line, so their comment is never lost.
 */
export function mergeCommentField(existing: string | undefined, disclosure: string, previous?: string): string {
  let kept = (existing ?? '').trim();
  if (previous && kept.includes(previous)) kept = kept.replace(previous, '').trim();
  if (!kept || kept === disclosure) return disclosure;
  return `${kept}\n${disclosure}`;
}
