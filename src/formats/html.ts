import { Parser } from 'htmlparser2';

/**
 * The one HTML reader (htmlparser2): what a browser would show as text and which `<meta>` elements
 * a document really has. Text inside a comment, `<script>`, `<style>`, `<template>` or `<head>`,
 * and attribute values, are not visible text; a `<meta>` inside a comment or a script is not an
 * element. Text detection, the labeller's checks, opt-out and the ledger fingerprint all read HTML
 * through here.
 */

export interface HtmlMetaElement {
  /** The `name`, `property` or `http-equiv` attribute as written (trimmed). */
  name: string;
  /** Which attribute named it. */
  by: 'name' | 'property' | 'http-equiv';
  /** The `content` attribute, entities decoded. */
  content: string;
  /** Character offset of the tag. */
  offset: number;
  /** Whether the element came before `<body>` (or any body content). */
  inHead: boolean;
}

export interface HtmlReading {
  /** The visible text, text nodes joined with a space where an element boundary separates them. */
  text: string;
  metas: HtmlMetaElement[];
  /** First character offset of an element carrying each class (real elements only). */
  classes: Map<string, number>;
}

/** Elements whose content a reader never sees as text. */
const HIDDEN = new Set(['script', 'style', 'template', 'head', 'title', 'noscript', 'textarea', 'svg', 'math']);
/** Inline elements: their boundaries do not separate words (`<b>AI</b>-generated` reads "AI-generated"). */
const INLINE = new Set(['a', 'abbr', 'b', 'bdi', 'bdo', 'cite', 'code', 'data', 'dfn', 'em', 'i', 'kbd', 'mark', 'q', 's', 'samp', 'small', 'span', 'strong', 'sub', 'sup', 'time', 'u', 'var', 'wbr', 'font']);
/** Elements that start the body: a meta after one of these is not in the head. */
const BODY_CONTENT = new Set(['body', 'p', 'div', 'main', 'article', 'section', 'h1', 'h2', 'h3', 'span', 'a', 'img', 'table', 'ul', 'ol']);

export interface ReadHtmlOptions {
  /** Leave the text of elements with this class out of `text` (tamga's own badge, for fingerprints). */
  skipClass?: string;
  /** Stop at the first body content: only the head's metas are wanted (opt-out). */
  headOnly?: boolean;
}

export function readHtml(html: string, opts: ReadHtmlOptions = {}): HtmlReading {
  const parts: string[] = [];
  const metas: HtmlMetaElement[] = [];
  const classes = new Map<string, number>();
  /** Open elements whose text is hidden (a stack of names, so nesting closes right). */
  const hidden: string[] = [];
  let skipDepth = 0;
  const open: string[] = [];
  let inBody = false;
  let stopped = false;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (stopped) return;
        const at = parser.startIndex;
        if (BODY_CONTENT.has(name)) {
          inBody = true;
          // A head left open (no </head>) ends where the body starts.
          for (let i = hidden.length - 1; i >= 0; i--) if (hidden[i] === 'head' || hidden[i] === 'title') hidden.splice(i, 1);
          if (opts.headOnly) {
            stopped = true;
            parser.pause();
            return;
          }
        }
        for (const c of (attrs['class'] ?? '').split(/\s+/)) if (c && !classes.has(c)) classes.set(c, at);
        if (name === 'meta') {
          const by = attrs['name'] !== undefined ? 'name' : attrs['property'] !== undefined ? 'property' : attrs['http-equiv'] !== undefined ? 'http-equiv' : undefined;
          const content = attrs['content'];
          if (by && content !== undefined) metas.push({ name: attrs[by]!.trim(), by, content, offset: at, inHead: !inBody });
        }
        open.push(name);
        if (HIDDEN.has(name)) hidden.push(name);
        if (skipDepth > 0 || (opts.skipClass && (attrs['class'] ?? '').split(/\s+/).includes(opts.skipClass))) skipDepth++;
        if (!INLINE.has(name)) parts.push(' ');
      },
      onclosetag(name) {
        if (stopped) return;
        if (open[open.length - 1] === name) open.pop();
        if (hidden[hidden.length - 1] === name) hidden.pop();
        if (skipDepth > 0) skipDepth--;
        if (!INLINE.has(name)) parts.push(' ');
      },
      ontext(text) {
        if (stopped || hidden.length || skipDepth) return;
        parts.push(text);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  if (!stopped) parser.end();
  return { text: parts.join('').replace(/[ \t\r\n\f]+/g, ' ').trim(), metas, classes };
}
