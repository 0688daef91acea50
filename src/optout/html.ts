import { readHtml } from '../formats/html.js';

/**
 * The `<meta>` elements of an HTML document's head, read by the one HTML reader (formats/html.ts):
 * comments and raw-text elements are not elements, and reading stops at the body or after
 * HTML_HEAD_LIMIT characters, so a hostile page costs at most one bounded pass.
 */

/** Meta elements belong in the head; real heads are far smaller than this. */
export const HTML_HEAD_LIMIT = 256 * 1024;

export interface HtmlMeta {
  /** Lower-cased `name` (or `http-equiv`) attribute. */
  name: string;
  content: string;
  /** Character offset of the tag in the document. */
  offset: number;
}

export function readHtmlMeta(document: string): HtmlMeta[] {
  const html = document.length > HTML_HEAD_LIMIT ? document.slice(0, HTML_HEAD_LIMIT) : document;
  return readHtml(html, { headOnly: true })
    .metas.filter((m) => m.inHead && m.by !== 'property')
    .map((m) => ({ name: m.name.toLowerCase(), content: m.content, offset: m.offset }));
}

/** HTML by its bytes: a doctype or an html/head element near the start. */
export function looksLikeHtml(head: string): boolean {
  return /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])/i.test(head.slice(0, 4096).replace(/^\uFEFF/, ''));
}
