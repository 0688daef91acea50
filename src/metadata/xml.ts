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

/**
 * Parses untrusted XML into the tree above. Metadata packets go through a strict single-pass
 * reader (`parseXmlStrictSubset`) several times faster than saxes; whatever it does not vouch for
 * (CDATA, a DOCTYPE, non-ASCII names, any error) is parsed by saxes, which gives the verdict.
 */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_LIMITS): XmlDocument {
  return parseXmlStrictSubset(text, limits) ?? parseXmlWithSaxes(text, limits);
}

/** The saxes parse: every document, every error message. */
export function parseXmlWithSaxes(text: string, limits: XmlLimits = DEFAULT_LIMITS): XmlDocument {
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

// ---------------------------------------------------------------------------------------------
// The strict subset reader. Its contract: when it returns a document, saxes returns the same
// document for the same text (test/metadata/xml.test.ts checks this on every corpus packet and on
// mutants). It returns undefined, never throws, for anything outside the subset it knows exactly.

/** Characters XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE/U+FFFF), plus surrogates, left to saxes. */
const OUTSIDE_SUBSET_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]/;
/** A Map, not an object literal: `&constructor;` must not find Object.prototype's. */
const PREDEFINED_ENTITIES = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

const isNameStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
const isNameChar = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x3a;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09; // CR is gone after end-of-line normalisation

/** A valid XML 1.0 Char, for character references. */
const isXmlChar = (c: number) => c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

/** Replaces predefined entity and character references; undefined for any other `&`. */
function decodeReferences(s: string): string | undefined {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const semi = s.indexOf(';', amp + 1);
    if (semi < 0) return undefined;
    const ref = s.slice(amp + 1, semi);
    let char = PREDEFINED_ENTITIES.get(ref);
    if (char === undefined) {
      const code = /^#[0-9]{1,7}$/.test(ref) ? Number(ref.slice(1)) : /^#x[0-9a-fA-F]{1,6}$/.test(ref) ? parseInt(ref.slice(2), 16) : -1;
      if (!isXmlChar(code)) return undefined;
      char = String.fromCodePoint(code);
    }
    out += s.slice(from, amp) + char;
    from = semi + 1;
    amp = s.indexOf('&', from);
  }
  return out + s.slice(from);
}

/** Splits a qualified name into prefix and local part; undefined unless it is `NCName` or `NCName:NCName` in ASCII. */
function splitQName(name: string): [string, string] | undefined {
  const colon = name.indexOf(':');
  if (colon < 0) return ['', name];
  if (colon === 0 || name.indexOf(':', colon + 1) >= 0 || !isNameStart(name.charCodeAt(colon + 1))) return undefined;
  return [name.slice(0, colon), name.slice(colon + 1)];
}

/** Reads an ASCII name starting at `at`; returns its end (== at when there is none). */
function nameEnd(text: string, at: number): number {
  if (!isNameStart(text.charCodeAt(at))) return at;
  let i = at + 1;
  while (isNameChar(text.charCodeAt(i))) i++;
  return i;
}

/** The prefix bound in the innermost scope that declares it (`xml` is always bound). */
function lookupNamespace(prefix: string, scopes: (Map<string, string> | undefined)[]): string | undefined {
  for (let i = scopes.length - 1; i >= 0; i--) {
    const uri = scopes[i]?.get(prefix);
    if (uri !== undefined) return uri;
  }
  return prefix === 'xml' ? XML_NS : undefined;
}

/** A qualified name resolved as saxes does: attributes never take the default namespace (Namespaces §6.2). */
function qualify(qname: string, isAttr: boolean, scopes: (Map<string, string> | undefined)[]): { prefix: string; local: string; uri: string } | undefined {
  const parts = splitQName(qname);
  if (!parts) return undefined;
  const [prefix, local] = parts;
  if (prefix === 'xmlns') return isAttr ? { prefix, local, uri: XMLNS_NS } : undefined;
  if (prefix === '') {
    if (isAttr) return { prefix, local, uri: qname === 'xmlns' ? XMLNS_NS : '' };
    return { prefix, local, uri: lookupNamespace('', scopes) ?? '' };
  }
  const uri = lookupNamespace(prefix, scopes);
  return uri === undefined ? undefined : { prefix, local, uri };
}

/** See the contract above; `parseXml` is the entry point. */
export function parseXmlStrictSubset(input: string, limits: XmlLimits = DEFAULT_LIMITS): XmlDocument | undefined {
  // A leading byte order mark is the caller's to drop (saxes would skip it).
  if (input.charCodeAt(0) === 0xfeff || OUTSIDE_SUBSET_CHARS.test(input)) return undefined;
  // XML §2.11 end-of-line handling, as saxes does while reading.
  const text = input.includes('\r') ? input.replace(/\r\n?/g, '\n') : input;
  const prolog: XmlDocument['prolog'] = [];
  const stack: XmlElement[] = [];
  // The namespaces each open element declares (undefined when none), innermost last.
  const scopes: (Map<string, string> | undefined)[] = [];
  let root: XmlElement | undefined;
  let nodes = 0;
  const nodeBudget = limits.maxNodes >> 1; // well inside the limit: saxes counts text events its own way
  const n = text.length;
  let pos = 0;
  while (pos < n) {
    const lt = text.indexOf('<', pos);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > pos) {
      const raw = text.slice(pos, textEnd);
      const parent = stack[stack.length - 1];
      if (!parent) {
        for (let i = 0; i < raw.length; i++) if (!isSpace(raw.charCodeAt(i))) return undefined;
      } else {
        if (raw.includes(']]>') || ++nodes > nodeBudget) return undefined;
        const t = decodeReferences(raw);
        if (t === undefined) return undefined;
        const last = parent.children[parent.children.length - 1];
        if (last && !isElement(last)) last.text += t;
        else parent.children.push({ text: t });
      }
    }
    if (lt < 0) break;
    const next = text.charCodeAt(lt + 1);
    if (next === 0x2f) {
      // </name S?>
      const end = nameEnd(text, lt + 2);
      let i = end;
      while (isSpace(text.charCodeAt(i))) i++;
      const open = stack.pop();
      if (!open || text.charCodeAt(i) !== 0x3e || text.slice(lt + 2, end) !== open.name) return undefined;
      scopes.pop();
      pos = i + 1;
    } else if (next === 0x3f) {
      // <?target body?>: only those before the root are kept; an XML declaration is left to saxes.
      const close = text.indexOf('?>', lt + 2);
      const end = nameEnd(text, lt + 2);
      if (close < 0 || end === lt + 2 || end > close) return undefined;
      const target = text.slice(lt + 2, end);
      if (target.toLowerCase() === 'xml' || target.includes(':') || (end < close && !isSpace(text.charCodeAt(end)))) return undefined;
      let b = end;
      while (b < close && isSpace(text.charCodeAt(b))) b++;
      if (!root) prolog.push({ target, body: text.slice(b, close) });
      pos = close + 2;
    } else if (next === 0x21) {
      // Comments only; CDATA and DOCTYPE go to saxes (which refuses the DOCTYPE).
      if (!text.startsWith('<!--', lt)) return undefined;
      const close = text.indexOf('-->', lt + 4);
      if (close < 0) return undefined;
      const body = text.slice(lt + 4, close);
      if (body.includes('--') || body.endsWith('-')) return undefined;
      pos = close + 3;
    } else {
      // <name (S attr S? = S? quoted)* S? /?>
      if (root && stack.length === 0) return undefined; // a second root
      if (stack.length >= limits.maxDepth || ++nodes > nodeBudget) return undefined;
      const end = nameEnd(text, lt + 1);
      if (end === lt + 1) return undefined;
      const name = text.slice(lt + 1, end);
      const rawAttrs: { name: string; value: string }[] = [];
      let i = end;
      let selfClosing = false;
      for (;;) {
        const spaced = isSpace(text.charCodeAt(i));
        while (isSpace(text.charCodeAt(i))) i++;
        const c = text.charCodeAt(i);
        if (c === 0x3e) {
          i++;
          break;
        }
        if (c === 0x2f) {
          if (text.charCodeAt(i + 1) !== 0x3e) return undefined;
          selfClosing = true;
          i += 2;
          break;
        }
        const aEnd = nameEnd(text, i);
        if (!spaced || aEnd === i) return undefined;
        const aName = text.slice(i, aEnd);
        i = aEnd;
        while (isSpace(text.charCodeAt(i))) i++;
        if (text.charCodeAt(i) !== 0x3d) return undefined;
        i++;
        while (isSpace(text.charCodeAt(i))) i++;
        const quote = text.charCodeAt(i);
        if (quote !== 0x22 && quote !== 0x27) return undefined;
        const close = text.indexOf(quote === 0x22 ? '"' : "'", i + 1);
        if (close < 0) return undefined;
        const rawValue = text.slice(i + 1, close);
        if (rawValue.includes('<')) return undefined;
        // XML §3.3.3: literal white space becomes a space; references are decoded after.
        const value = decodeReferences(rawValue.replace(/[\n\t]/g, ' '));
        if (value === undefined) return undefined;
        for (const a of rawAttrs) if (a.name === aName) return undefined;
        rawAttrs.push({ name: aName, value });
        i = close + 1;
      }
      // Namespace declarations first: they apply to the element's own name and attributes.
      let declared: Map<string, string> | undefined;
      for (const a of rawAttrs) {
        const prefix = a.name === 'xmlns' ? '' : a.name.startsWith('xmlns:') ? a.name.slice(6) : undefined;
        if (prefix === undefined) continue;
        if (prefix === '' && a.name !== 'xmlns') return undefined; // `xmlns:` with no prefix
        // saxes binds the trimmed value; the reserved prefixes and URIs have rules of their own.
        const uri = a.value.trim();
        if (uri === '' || uri === XML_NS || uri === XMLNS_NS || prefix === 'xml' || prefix === 'xmlns' || prefix.includes(':')) return undefined;
        (declared ??= new Map()).set(prefix, uri);
      }
      scopes.push(declared);
      const qn = qualify(name, false, scopes);
      const attrs: XmlAttr[] = [];
      for (const a of rawAttrs) {
        const an = qualify(a.name, true, scopes);
        if (!an) return undefined;
        if (an.uri !== '') for (const b of attrs) if (b.uri === an.uri && b.local === an.local) return undefined;
        attrs.push({ name: a.name, prefix: an.prefix, local: an.local, uri: an.uri, value: a.value });
      }
      if (!qn) return undefined;
      const el: XmlElement = { name, prefix: qn.prefix, local: qn.local, uri: qn.uri, attrs, children: [] };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else root = el;
      if (selfClosing) scopes.pop();
      else stack.push(el);
      pos = i;
    }
  }
  return root && stack.length === 0 ? { prolog, root } : undefined;
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
