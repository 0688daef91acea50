import { SaxesParser, type SaxesTagNS } from 'saxes';
import { TamgaError } from '../core/errors.js';

/**
 * A minimal namespace-aware XML tree for untrusted metadata (XMP). DOCTYPE declarations are
 * refused outright, so no DTD, internal entity or external entity is ever processed; depth and
 * node counts are bounded so a hostile packet cannot exhaust memory or the stack.
 */
export interface XmlAttr {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  value: string;
}
export interface XmlElement {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attrs: XmlAttr[];
  children: XmlNode[];
}
export type XmlNode = XmlElement | { text: string };

export interface XmlDocument {
  /** Processing instructions before the root, e.g. the `xpacket begin` header. */
  prolog: { target: string; body: string }[];
  root: XmlElement;
}

export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface XmlLimits {
  maxDepth: number;
  maxNodes: number;
}
const DEFAULT_LIMITS: XmlLimits = { maxDepth: 64, maxNodes: 200_000 };

export const isElement = (n: XmlNode): n is XmlElement => 'children' in n;

export function parseXml(text: string, limits: XmlLimits = DEFAULT_LIMITS): XmlDocument {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const prolog: XmlDocument['prolog'] = [];
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let nodes = 0;
  let failure: TamgaError | undefined;
  const fail = (message: string) => {
    failure ??= new TamgaError('UNSAFE_XML', message, { line: parser.line, column: parser.column });
    throw failure;
  };

  parser.on('doctype', () => fail('XML: DOCTYPE declarations are refused (no DTDs or entities in metadata)'));
  parser.on('processinginstruction', (pi) => {
    if (!root) prolog.push({ target: pi.target ?? '', body: pi.body ?? '' });
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (++nodes > limits.maxNodes) fail(`XML: more than ${limits.maxNodes} nodes`);
    if (stack.length >= limits.maxDepth) fail(`XML: nested deeper than ${limits.maxDepth} elements`);
    const el: XmlElement = {
      name: tag.name,
      prefix: tag.prefix,
      local: tag.local,
      uri: tag.uri,
      attrs: Object.values(tag.attributes).map((a) => ({ name: a.name, prefix: a.prefix, local: a.local, uri: a.uri, value: a.value })),
      children: [],
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const parent = stack[stack.length - 1];
    if (!parent) return;
    if (++nodes > limits.maxNodes) fail(`XML: more than ${limits.maxNodes} nodes`);
    const last = parent.children[parent.children.length - 1];
    if (last && !isElement(last)) last.text += t;
    else parent.children.push({ text: t });
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('error', (e) => {
    failure ??= new TamgaError('UNSAFE_XML', `XML: malformed: ${e.message}`, { line: parser.line, column: parser.column });
    throw failure;
  });

  try {
    parser.write(text).close();
  } catch (e) {
    if (failure) throw failure;
    throw new TamgaError('UNSAFE_XML', `XML: malformed: ${(e as Error).message}`, {}, { cause: e });
  }
  if (!root) throw new TamgaError('UNSAFE_XML', 'XML: no root element');
  return { prolog, root };
}

export function escapeXmlText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

export function escapeXmlAttr(s: string): string {
  return s.replace(/[&<>"\n\r\t]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c] ?? `#x${c.charCodeAt(0).toString(16).toUpperCase()}`};`);
}

/** Serialises an element as parsed (qualified names and xmlns attributes kept as written). */
export function serializeElement(el: XmlElement, out: string[] = []): string[] {
  out.push('<', el.name);
  for (const a of el.attrs) out.push(' ', a.name, '="', escapeXmlAttr(a.value), '"');
  if (el.children.length === 0) {
    out.push('/>');
    return out;
  }
  out.push('>');
  for (const c of el.children) {
    if (isElement(c)) serializeElement(c, out);
    else out.push(escapeXmlText(c.text));
  }
  out.push('</', el.name, '>');
  return out;
}

/** The text content of an element (concatenated direct text children). */
export function textOf(el: XmlElement): string {
  let s = '';
  for (const c of el.children) if (!isElement(c)) s += c.text;
  return s;
}

export const childElements = (el: XmlElement): XmlElement[] => el.children.filter(isElement);
