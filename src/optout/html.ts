/**
 * The `<meta>` elements of an HTML document's head, read by a small linear tokenizer: no DOM, no
 * entities beyond the basic ones, comments and raw-text elements skipped, and it stops at `<body>`
 * or after HTML_HEAD_LIMIT characters, so a hostile page costs at most one bounded pass.
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

const NAMED_ENTITIES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: '\u00a0' };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (m, body: string) => {
    if (body[0] === '#') {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? m;
  });
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f';
const isNameChar = (c: string | undefined) => c !== undefined && !isSpace(c) && c !== '>' && c !== '/' && c !== '=' && c !== '<';

/** Parses a tag's attributes from just after its name; returns them and the index after `>`. */
function readAttributes(html: string, start: number): { attrs: Map<string, string>; end: number } {
  const attrs = new Map<string, string>();
  let i = start;
  while (i < html.length) {
    while (isSpace(html[i]) || html[i] === '/') i++;
    if (i >= html.length || html[i] === '>') return { attrs, end: i + 1 };
    const nameStart = i;
    while (isNameChar(html[i])) i++;
    if (i === nameStart) {
      i++;
      continue;
    }
    const name = html.slice(nameStart, i).toLowerCase();
    while (isSpace(html[i])) i++;
    let value = '';
    if (html[i] === '=') {
      i++;
      while (isSpace(html[i])) i++;
      const q = html[i];
      if (q === '"' || q === "'") {
        const close = html.indexOf(q, i + 1);
        const stop = close < 0 ? html.length : close;
        value = html.slice(i + 1, stop);
        i = stop + 1;
      } else {
        const valueStart = i;
        while (i < html.length && !isSpace(html[i]) && html[i] !== '>') i++;
        value = html.slice(valueStart, i);
      }
    }
    if (!attrs.has(name)) attrs.set(name, decodeEntities(value));
  }
  return { attrs, end: html.length };
}

const RAW_TEXT = new Set(['script', 'style', 'template', 'textarea', 'title', 'noscript']);

export function readHtmlMeta(document: string): HtmlMeta[] {
  const html = document.length > HTML_HEAD_LIMIT ? document.slice(0, HTML_HEAD_LIMIT) : document;
  const out: HtmlMeta[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      if (close < 0) break;
      i = close + 3;
      continue;
    }
    if (html[lt + 1] === '!' || html[lt + 1] === '?' || html[lt + 1] === '/') {
      const close = html.indexOf('>', lt + 1);
      if (close < 0) break;
      i = close + 1;
      continue;
    }
    let j = lt + 1;
    while (isNameChar(html[j])) j++;
    const tag = html.slice(lt + 1, j).toLowerCase();
    if (!tag) {
      i = lt + 1;
      continue;
    }
    if (tag === 'body') break;
    const { attrs, end } = readAttributes(html, j);
    i = end;
    if (tag === 'meta') {
      const name = (attrs.get('name') ?? attrs.get('http-equiv'))?.trim().toLowerCase();
      const content = attrs.get('content');
      if (name && content !== undefined) out.push({ name, content, offset: lt });
    } else if (RAW_TEXT.has(tag)) {
      // A `<meta` inside a script or a title is text, not an element.
      const closing = new RegExp(`</${tag}`, 'gi');
      closing.lastIndex = i;
      const close = closing.exec(html);
      if (!close) break;
      i = close.index;
    }
  }
  return out;
}

/** HTML by its bytes: a doctype or an html/head element near the start. */
export function looksLikeHtml(head: string): boolean {
  return /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])/i.test(head.slice(0, 4096).replace(/^\uFEFF/, ''));
}
