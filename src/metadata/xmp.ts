import { createHash } from 'node:crypto';
import { TamgaError } from '../core/errors.js';
import { classifyDigitalSourceType, digitalSourceTypeUri, type Provenance } from '../core/provenance.js';
import type { Finding } from '../core/types.js';
import { TOOL_ID } from '../version.js';
import {
  XMLNS_NS,
  XML_NS,
  childElements,
  escapeXmlAttr,
  escapeXmlText,
  isElement,
  parseXml,
  serializeElement,
  textOf,
  type XmlDocument,
  type XmlElement,
} from './xml.js';

/**
 * XMP packets: build tamga's properties, parse anyone's, and merge ours into an existing packet
 * (other properties kept, ours replaced, never duplicated). See labelling-standards.md §1, §2, §4.4.
 */

export const NS = {
  x: 'adobe:ns:meta/',
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  dc: 'http://purl.org/dc/elements/1.1/',
  dcterms: 'http://purl.org/dc/terms/',
  xmp: 'http://ns.adobe.com/xap/1.0/',
  xmpNote: 'http://ns.adobe.com/xmp/note/',
  photoshop: 'http://ns.adobe.com/photoshop/1.0/',
  exif: 'http://ns.adobe.com/exif/1.0/',
  Iptc4xmpExt: 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/',
  plus: 'http://ns.useplus.org/ldf/xmp/1.0/',
  TC260: 'http://www.tc260.org.cn/ns/AIGC/1.0/',
  tamga: 'https://tamga.kz/ns/xmp/1.0/',
} as const;

/** The xpacket id fixed by the XMP spec. */
const PACKET_ID = 'W5M0MpCehiHzreSzNTczkc9d';
export { MAX_XMP_BYTES } from '../formats/types.js';
import { MAX_XMP_BYTES } from '../formats/types.js';

// ---------------------------------------------------------------------------------------------
// Reading

export type XmpValue =
  | { type: 'text'; value: string; lang?: string }
  | { type: 'array'; container: 'Alt' | 'Bag' | 'Seq'; items: { value: string; lang?: string }[] }
  | { type: 'struct'; fields: Record<string, XmpValue> };

export interface XmpProperty {
  uri: string;
  local: string;
  /** The qualified name as written, e.g. `Iptc4xmpExt:DigitalSourceType`. */
  name: string;
  value: XmpValue;
}

export interface XmpPacket {
  doc: XmlDocument;
  /** The rdf:RDF element (inside x:xmpmeta, or the root). */
  rdf: XmlElement;
  properties: XmpProperty[];
}

function decodePacket(bytes: Uint8Array): string {
  if (bytes.length > MAX_XMP_BYTES) throw new TamgaError('METADATA_TOO_LARGE', `XMP: packet of ${bytes.length} bytes exceeds ${MAX_XMP_BYTES}`);
  let s = decodeXmpText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  // Some writers pad with NULs after the trailer; XML forbids them.
  s = s.replace(/\0+$/, '');
  // Drop the in-place-edit padding before the trailer: kilobytes of spaces the XML parser would
  // otherwise walk one character at a time.
  const trailer = s.lastIndexOf('<?xpacket end');
  if (trailer > 0) {
    let i = trailer;
    while (i > 0 && isXmlSpace(s.charCodeAt(i - 1))) i--;
    if (i < trailer) s = s.slice(0, i) + s.slice(trailer);
  }
  return s;
}

/**
 * XMP Part 3 writes UTF-8, but a packet may be UTF-16 or UTF-32 (Part 1 §7.3.2, and exiftool reads
 * them): told apart by a byte-order mark, else by where the NULs of the leading `<` or BOM are.
 */
function decodeXmpText(b: Buffer): string {
  const utf32 = (le: boolean) => {
    let out = '';
    for (let i = 0; i + 4 <= b.length; i += 4) {
      const c = le ? b.readUInt32LE(i) : b.readUInt32BE(i);
      if (c > 0x10ffff) throw new TamgaError('CORRUPT_INPUT', 'XMP: a UTF-32 packet holds a value beyond Unicode');
      out += String.fromCodePoint(c);
    }
    return out;
  };
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && ((b[2] === 0xfe && b[3] === 0xff) || (b[2] === 0 && b[3] !== 0))) return utf32(false);
  if (b.length >= 4 && b[2] === 0 && b[3] === 0 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] !== 0 && b[1] === 0))) return utf32(true);
  if (b.length >= 2 && ((b[0] === 0xfe && b[1] === 0xff) || (b[0] === 0 && b[1] !== 0))) return Buffer.from(b.subarray(0, b.length & ~1)).swap16().toString('utf16le');
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] !== 0 && b[1] === 0))) return b.toString('utf16le', 0, b.length & ~1);
  return b.toString('utf8');
}

const isXmlSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function findRdf(root: XmlElement): XmlElement | undefined {
  if (root.uri === NS.rdf && root.local === 'RDF') return root;
  for (const c of childElements(root)) {
    const r = findRdf(c);
    if (r) return r;
  }
  return undefined;
}

const isRdf = (el: XmlElement, local: string) => el.uri === NS.rdf && el.local === local;
const attr = (el: XmlElement, uri: string, local: string) => el.attrs.find((a) => a.uri === uri && a.local === local)?.value;
const isPropertyAttr = (a: XmlElement['attrs'][number]) => a.uri !== XMLNS_NS && a.uri !== NS.rdf && a.uri !== XML_NS && a.uri !== '' && !a.name.startsWith('xmlns');

/** Reads the value of a property element in any of the RDF forms XMP allows. */
function readValue(el: XmlElement): XmpValue {
  const lang = attr(el, XML_NS, 'lang');
  const resource = attr(el, NS.rdf, 'resource');
  if (resource !== undefined) return { type: 'text', value: resource };
  const kids = childElements(el);
  const container = kids.find((k) => isRdf(k, 'Alt') || isRdf(k, 'Bag') || isRdf(k, 'Seq'));
  if (container) {
    const items = childElements(container)
      .filter((li) => isRdf(li, 'li'))
      .map((li) => {
        const v = readValue(li);
        const itemLang = attr(li, XML_NS, 'lang');
        const value = v.type === 'text' ? v.value : v.type === 'array' ? v.items.map((i) => i.value).join(', ') : JSON.stringify(v.fields);
        return itemLang ? { value, lang: itemLang } : { value };
      });
    return { type: 'array', container: container.local as 'Alt' | 'Bag' | 'Seq', items };
  }
  const structEl = attr(el, NS.rdf, 'parseType') === 'Resource' ? el : kids.find((k) => isRdf(k, 'Description'));
  const propAttrs = el.attrs.filter(isPropertyAttr);
  if (structEl || propAttrs.length) {
    const fields: Record<string, XmpValue> = {};
    for (const p of structEl ? collectProperties(structEl) : []) fields[p.name] = p.value;
    for (const a of propAttrs) fields[a.name] = { type: 'text', value: a.value };
    return { type: 'struct', fields };
  }
  return lang ? { type: 'text', value: textOf(el), lang } : { type: 'text', value: textOf(el) };
}

function collectProperties(desc: XmlElement): XmpProperty[] {
  const out: XmpProperty[] = [];
  for (const a of desc.attrs) {
    if (!isPropertyAttr(a)) continue;
    out.push({ uri: a.uri, local: a.local, name: a.name, value: { type: 'text', value: a.value } });
  }
  for (const c of childElements(desc)) out.push({ uri: c.uri, local: c.local, name: c.name, value: readValue(c) });
  return out;
}

/**
 * The namespaces of XMP's standard prefixes (XMP Part 1 §8, Part 2), for packets that use one
 * without declaring it, as some PDF producers write them (pdf.js issue20453.pdf: `dc:` unbound);
 * exiftool reads those prefixes as these namespaces too.
 */
const STANDARD_PREFIXES: Record<string, string> = {
  x: NS.x,
  rdf: NS.rdf,
  dc: NS.dc,
  xmp: NS.xmp,
  xap: NS.xmp,
  xmpMM: 'http://ns.adobe.com/xap/1.0/mm/',
  xapMM: 'http://ns.adobe.com/xap/1.0/mm/',
  xmpRights: 'http://ns.adobe.com/xap/1.0/rights/',
  xapRights: 'http://ns.adobe.com/xap/1.0/rights/',
  xmpTPg: 'http://ns.adobe.com/xap/1.0/t/pg/',
  stEvt: 'http://ns.adobe.com/xap/1.0/sType/ResourceEvent#',
  stRef: 'http://ns.adobe.com/xap/1.0/sType/ResourceRef#',
  pdf: 'http://ns.adobe.com/pdf/1.3/',
  pdfx: 'http://ns.adobe.com/pdfx/1.3/',
  photoshop: NS.photoshop,
  tiff: 'http://ns.adobe.com/tiff/1.0/',
  exif: NS.exif,
  Iptc4xmpCore: 'http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/',
  Iptc4xmpExt: NS.Iptc4xmpExt,
};

/** Parses the packet text; an undeclared standard prefix is declared on the root element (at most a few times). */
function parsePacketText(text: string) {
  let t = text;
  for (let tries = 0; ; tries++) {
    try {
      return parseXml(t);
    } catch (e) {
      const prefix = e instanceof TamgaError ? /unbound namespace prefix: "([\w.-]+)"/.exec(e.message)?.[1] : undefined;
      const uri = prefix !== undefined && Object.hasOwn(STANDARD_PREFIXES, prefix) ? STANDARD_PREFIXES[prefix] : undefined;
      const root = /<(?![?!])[\w:.-]+/.exec(t);
      if (!uri || !root || tries >= 8) throw e;
      const at = root.index + root[0].length;
      t = `${t.slice(0, at)} xmlns:${prefix}="${uri}"${t.slice(at)}`;
    }
  }
}

export function parseXmp(bytes: Uint8Array): XmpPacket {
  const doc = parsePacketText(decodePacket(bytes));
  let rdf = findRdf(doc.root);
  // `<x:xmpmeta/>` (or one with only whitespace) is an empty packet, not a broken one: exiftool
  // writes it when every property was deleted.
  if (!rdf && doc.root.uri === NS.x && doc.root.local === 'xmpmeta' && !doc.root.children.some((c) => isElement(c) || c.text.trim())) {
    rdf = { name: 'rdf:RDF', prefix: 'rdf', local: 'RDF', uri: NS.rdf, attrs: [], children: [] };
  }
  if (!rdf) throw new TamgaError('CORRUPT_INPUT', 'XMP: no rdf:RDF element in the packet');
  const properties: XmpProperty[] = [];
  for (const d of childElements(rdf)) if (isRdf(d, 'Description')) properties.push(...collectProperties(d));
  return { doc, rdf, properties };
}

export function getProperty(p: XmpPacket, uri: string, local: string): XmpValue | undefined {
  return p.properties.find((x) => x.uri === uri && x.local === local)?.value;
}

/** A text view of a value: text as is, arrays by x-default / first item, structs as JSON. */
export function valueText(v: XmpValue | undefined): string | undefined {
  if (!v) return undefined;
  if (v.type === 'text') return v.value;
  if (v.type === 'array') return (v.items.find((i) => i.lang === 'x-default') ?? v.items[0])?.value;
  return JSON.stringify(v.fields);
}

function valueList(v: XmpValue | undefined): string[] | undefined {
  if (!v) return undefined;
  if (v.type === 'array') return v.items.map((i) => i.value);
  const t = valueText(v);
  return t === undefined ? undefined : [t];
}

/** Reads back the Provenance tamga wrote (tamga namespace), if present. */
export function readTamgaProvenance(p: XmpPacket): Provenance | undefined {
  const get = (local: string) => valueText(getProperty(p, NS.tamga, local));
  const contentId = get('contentId');
  const dst = get('digitalSourceType');
  if (!contentId || !dst) return undefined;
  const prov: Provenance = {
    digitalSourceType: classifyDigitalSourceType(dst).term as Provenance['digitalSourceType'],
    createdAt: get('createdAt') ?? '',
    contentId,
  };
  const gen = get('generator');
  if (gen) {
    const version = get('generatorVersion');
    prov.generator = version ? { name: gen, version } : { name: gen };
  }
  const provider = get('provider');
  if (provider) prov.provider = provider;
  const model = get('model');
  if (model) prov.model = model;
  const hc = get('humanContribution');
  if (hc) prov.humanContribution = hc as Provenance['humanContribution'];
  const j = valueList(getProperty(p, NS.tamga, 'jurisdictions'));
  if (j?.length) prov.jurisdictions = j;
  return prov;
}

/** TC260 AIGC JSON, tolerant of the attribute/element forms and of a wrapping {"AIGC": {...}}. */
export function parseTc260(raw: string): Record<string, string> | undefined {
  try {
    const j = JSON.parse(raw) as unknown;
    const o = j && typeof j === 'object' && 'AIGC' in j ? (j as { AIGC: unknown }).AIGC : j;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) out[k] = String(v);
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Findings for every label-relevant property of a packet, whoever wrote it. With
 * `includeInfo`, descriptive properties (credit, creator tool, description) are reported raw so
 * the verifier's signal detectors can weigh them.
 */
export function findingsFromXmp(p: XmpPacket, where: string, includeInfo = true): Finding[] {
  const out: Finding[] = [];
  for (const prop of p.properties) {
    if (prop.uri === NS.Iptc4xmpExt && prop.local === 'DigitalSourceType') {
      const t = valueText(prop.value);
      if (t) out.push({ layer: 'metadata', kind: 'xmp:iptc-digital-source-type', value: classifyDigitalSourceType(t), confidence: 1, where });
    }
    // Lenient on the prefix (a mis-declared `C260` is seen in the wild): match the namespace URI.
    if (prop.uri === NS.TC260 && prop.local === 'AIGC') {
      const raw = valueText(prop.value) ?? '';
      const parsed = parseTc260(raw);
      out.push({ layer: 'metadata', kind: 'xmp:tc260-aigc', value: parsed ?? { raw }, confidence: parsed ? 1 : 0.5, where });
    }
    if (prop.uri === NS.Iptc4xmpExt && prop.local === 'AISystemUsed') {
      const version = valueText(getProperty(p, NS.Iptc4xmpExt, 'AISystemVersionUsed'));
      out.push({ layer: 'metadata', kind: 'xmp:iptc-ai-system', value: { name: valueText(prop.value), ...(version ? { version } : {}) }, confidence: 1, where });
    }
    if (prop.uri === NS.dcterms && prop.local === 'provenance') {
      out.push({ layer: 'c2pa', kind: 'xmp:c2pa-provenance', value: valueText(prop.value), confidence: 1, where });
    }
    // A training-data reservation (IPTC 2023.1 / PLUS, labelling-standards.md §9.2): read by `tamga optout`.
    if (prop.uri === NS.plus && prop.local === 'DataMining') {
      const constraints = valueText(getProperty(p, NS.plus, 'OtherConstraints'));
      out.push({ layer: 'metadata', kind: 'xmp:plus-data-mining', value: { value: valueText(prop.value) ?? '', ...(constraints ? { otherConstraints: constraints } : {}) }, confidence: 1, where });
    }
    if (!includeInfo) continue;
    if (prop.uri === NS.photoshop && prop.local === 'Credit') out.push({ layer: 'signal', kind: 'xmp:photoshop-credit', value: valueText(prop.value), confidence: 1, where });
    if (prop.uri === NS.xmp && prop.local === 'CreatorTool') out.push({ layer: 'signal', kind: 'xmp:creator-tool', value: valueText(prop.value), confidence: 1, where });
    if (prop.uri === NS.dc && prop.local === 'description') out.push({ layer: 'metadata', kind: 'xmp:description', value: valueText(prop.value), confidence: 1, where });
  }
  const prov = readTamgaProvenance(p);
  if (prov) out.push({ layer: 'metadata', kind: 'xmp:tamga', value: prov, confidence: 1, where });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface XmpLabel {
  provenance: Provenance;
  /** The disclosure per language; the first one written as x-default is `line`. */
  disclosure: { line: string; texts: { lang: string; text: string }[] };
  /**
   * A PLUS DataMining code (e.g. `DMI-PROHIBITED-AIMLTRAINING`) written as `plus:DataMining` with
   * the vocabulary URI; when set, tamga owns that property on merge (replaced, never duplicated).
   */
  dataMining?: string;
}

/** Base URI of the PLUS vocabulary values of `plus:DataMining` (labelling-standards.md §9.2). */
export const PLUS_VOCAB_BASE = 'http://ns.useplus.org/ldf/vocab/';

/**
 * What `reserveTraining` writes (§9.7): the AI-specific prohibition, not `DMI-PROHIBITED`. The law
 * this serves (Kazakhstan Art. 23) is about training AI; a blanket TDM prohibition would also
 * forbid search indexing and analytics the operator has not asked to forbid. It covers generative
 * and other AI training alike. (The C2PA assertion signed alongside it sets every CAWG entry,
 * data mining included, to notAllowed: the broader of the two.)
 */
export const TRAINING_RESERVATION = 'DMI-PROHIBITED-AIMLTRAINING';

/** GB 45438 Appendix E(j): element values use printable ASCII without `"` and `\`. */
export function tc260Value(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x5c && c !== 0x25) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The TC260 AIGC object (implicit label) for a Provenance, in Appendix E's key order. */
export function tc260Fields(p: Provenance): Record<string, string> {
  const producer = tc260Value(p.provider ?? p.generator?.name ?? 'unknown');
  const produceId = tc260Value(p.contentId);
  // ReservedCode1 is the producer's integrity field: a SHA-256 over the fields it vouches for.
  const digest = createHash('sha256').update(`${producer}\n${produceId}\n${p.digitalSourceType}\n${p.createdAt}`).digest('hex');
  return { Label: '1', ContentProducer: producer, ProduceID: produceId, ReservedCode1: digest, ContentPropagator: '', PropagateID: '', ReservedCode2: '' };
}

/** Properties tamga owns: removed from an existing packet before ours are written. */
function isOwnedProperty(uri: string, local: string, writesDataMining = false): boolean {
  // Someone else's reservation is kept unless we write ours in its place.
  if (uri === NS.plus && local === 'DataMining') return writesDataMining;
  if (uri === NS.tamga || uri === NS.TC260) return true;
  if (uri === NS.Iptc4xmpExt) return local === 'DigitalSourceType' || local === 'AISystemUsed' || local === 'AISystemVersionUsed';
  return uri === NS.dc && local === 'description';
}

const el = (name: string, body: string, attrs = '') => `<${name}${attrs}>${body}</${name}>`;
const text = (name: string, v: string) => el(name, escapeXmlText(v));

function langAlt(items: { lang: string; text: string }[]): string {
  return el('rdf:Alt', items.map((i) => `<rdf:li xml:lang="${escapeXmlAttr(i.lang)}">${escapeXmlText(i.text)}</rdf:li>`).join(''));
}

/** Our rdf:Description, declaring every prefix it uses so it is valid wherever it is placed. */
function buildOurDescription(label: XmpLabel, description: { lang: string; text: string }[], about = ''): string {
  const p = label.provenance;
  const ns = (['dc', 'Iptc4xmpExt', 'TC260', 'tamga', ...(label.dataMining ? (['plus'] as const) : [])] as const).map((k) => ` xmlns:${k}="${NS[k]}"`).join('');
  const props: string[] = [];
  props.push(text('Iptc4xmpExt:DigitalSourceType', digitalSourceTypeUri(p.digitalSourceType)));
  if (p.generator) {
    props.push(text('Iptc4xmpExt:AISystemUsed', p.generator.name));
    if (p.generator.version) props.push(text('Iptc4xmpExt:AISystemVersionUsed', p.generator.version));
  }
  props.push(text('TC260:AIGC', JSON.stringify(tc260Fields(p))));
  props.push(el('dc:description', langAlt(description)));
  props.push(text('tamga:contentId', p.contentId));
  props.push(text('tamga:createdAt', p.createdAt));
  props.push(text('tamga:digitalSourceType', p.digitalSourceType));
  if (p.generator) {
    props.push(text('tamga:generator', p.generator.name));
    if (p.generator.version) props.push(text('tamga:generatorVersion', p.generator.version));
  }
  if (p.provider) props.push(text('tamga:provider', p.provider));
  if (p.model) props.push(text('tamga:model', p.model));
  if (p.humanContribution) props.push(text('tamga:humanContribution', p.humanContribution));
  if (p.jurisdictions?.length) props.push(el('tamga:jurisdictions', el('rdf:Bag', p.jurisdictions.map((j) => text('rdf:li', j)).join(''))));
  props.push(text('tamga:disclosure', label.disclosure.line));
  props.push(text('tamga:labeller', TOOL_ID));
  if (label.dataMining) props.push(text('plus:DataMining', PLUS_VOCAB_BASE + label.dataMining));
  return `<rdf:Description rdf:about="${escapeXmlAttr(about)}"${ns}>\n   ${props.join('\n   ')}\n  </rdf:Description>`;
}

/**
 * The dc:description to write: the caller's disclosure, appended to any description that was
 * already there (minus a disclosure an earlier tamga run appended), per language.
 */
function mergeDescription(existing: XmpValue | undefined, previousDisclosure: string | undefined, label: XmpLabel): { lang: string; text: string }[] {
  const clean = (s: string) => {
    let t = s;
    if (previousDisclosure) t = t.split(previousDisclosure).join('');
    for (const d of label.disclosure.texts) t = t.split(d.text).join('');
    t = t.split(label.disclosure.line).join('');
    return t.replace(/\n{2,}/g, '\n').trim();
  };
  const old = new Map<string, string>();
  if (existing?.type === 'array') for (const i of existing.items) old.set(i.lang ?? 'x-default', clean(i.value));
  else if (existing?.type === 'text') old.set(existing.lang ?? 'x-default', clean(existing.value));
  const join = (a: string | undefined, b: string) => (a ? `${a}\n${b}` : b);
  const out: { lang: string; text: string }[] = [{ lang: 'x-default', text: join(old.get('x-default'), label.disclosure.line) }];
  const ours = new Set<string>();
  for (const d of label.disclosure.texts) {
    ours.add(d.lang);
    out.push({ lang: d.lang, text: join(old.get(d.lang), d.text) });
  }
  for (const [lang, t] of old) if (lang !== 'x-default' && !ours.has(lang) && t) out.push({ lang, text: t });
  return out;
}

/** Drops our properties from one rdf:Description, with the whitespace that indented them. */
function stripOwned(desc: XmlElement, writesDataMining: boolean): void {
  desc.attrs = desc.attrs.filter((a) => !(isPropertyAttr(a) && isOwnedProperty(a.uri, a.local, writesDataMining)));
  const kept: XmlElement['children'] = [];
  for (const c of desc.children) {
    if (isElement(c) && isOwnedProperty(c.uri, c.local, writesDataMining)) {
      const prev = kept[kept.length - 1];
      if (prev && !isElement(prev) && !prev.text.trim()) kept.pop();
      continue;
    }
    kept.push(c);
  }
  desc.children = kept;
}

const isEmptyDescription = (d: XmlElement) => !d.attrs.some(isPropertyAttr) && !d.children.some((c) => isElement(c) || c.text.trim());

export interface BuildXmpOptions {
  /** Whitespace padding so other tools can edit in place (XMP spec recommends ~2 KB). */
  padding?: number;
}

function wrapPacket(rdfBody: string, xmpmetaAttrs: string, padding: number): Uint8Array {
  const pad = padding > 0 ? '\n' + (' '.repeat(99) + '\n').repeat(Math.ceil(padding / 100)) : '\n';
  const s =
    `<?xpacket begin="\uFEFF" id="${PACKET_ID}"?>\n` +
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"${xmpmetaAttrs}>\n` +
    ` <rdf:RDF xmlns:rdf="${NS.rdf}">\n  ${rdfBody}\n </rdf:RDF>\n</x:xmpmeta>${pad}<?xpacket end="w"?>`;
  return Buffer.from(s, 'utf8');
}

/** A fresh packet with tamga's label. */
export function buildXmp(label: XmpLabel, opts: BuildXmpOptions = {}): Uint8Array {
  return wrapPacket(buildOurDescription(label, mergeDescription(undefined, undefined, label)), ` x:xmptk="${TOOL_ID}"`, opts.padding ?? 0);
}

/**
 * Merges tamga's label into an existing packet: every other property and namespace is kept,
 * ours are replaced, and re-labelling yields one set of our properties, never two.
 * A packet with a DOCTYPE is refused (UNSAFE_XML); a malformed one is CORRUPT_INPUT, as
 * exiftool also refuses to rewrite broken XMP.
 */
export function mergeXmp(existing: Uint8Array | undefined, label: XmpLabel, opts: BuildXmpOptions = {}): Uint8Array {
  if (!existing || existing.length === 0 || !decodePacket(existing).trim()) return buildXmp(label, opts);
  let packet: XmpPacket;
  try {
    packet = parseXmp(existing);
  } catch (e) {
    if (e instanceof TamgaError && e.code === 'UNSAFE_XML' && !/DOCTYPE/.test(e.message)) {
      throw new TamgaError('CORRUPT_INPUT', `existing XMP packet is malformed (${e.message}); refusing to rewrite it`, e.details, { cause: e });
    }
    throw e;
  }
  const previousDisclosure = valueText(getProperty(packet, NS.tamga, 'disclosure'));
  const description = mergeDescription(getProperty(packet, NS.dc, 'description'), previousDisclosure, label);
  const rdf = packet.rdf;
  for (const d of childElements(rdf)) if (isRdf(d, 'Description')) stripOwned(d, label.dataMining !== undefined);
  rdf.children = rdf.children.filter((c) => {
    if (!isElement(c)) return c.text.trim() !== '';
    return !(isRdf(c, 'Description') && isEmptyDescription(c));
  });
  const kept = rdf.children.map((c) => (isElement(c) ? serializeElement(c).join('') : escapeXmlText(c.text))).join('\n  ');
  // rdf:RDF's own attributes other than the rdf prefix (extra xmlns declarations) are kept.
  const rdfAttrs = rdf.attrs.filter((a) => !(a.uri === XMLNS_NS && a.local === 'rdf'));
  // Every rdf:Description of a packet names the same resource (XMP Part 1 §7.4): ours takes the
  // packet's rdf:about (e.g. "uuid:..."), or exiftool warns about the mismatch.
  // (Old RDF writes it unqualified, `about="uuid:..."`, as early Adobe tools and exiftool's tests do.)
  const about = childElements(rdf).filter((d) => isRdf(d, 'Description')).map((d) => attr(d, NS.rdf, 'about') ?? attr(d, '', 'about')).find((a) => a) ?? '';
  const ours = buildOurDescription(label, description, about);
  const body = (kept ? kept + '\n  ' : '') + ours;
  const rdfOpen = rdfAttrs.length ? rdfAttrs.map((a) => ` ${a.name}="${escapeXmlAttr(a.value)}"`).join('') : '';
  const meta = packet.doc.root.uri === NS.x ? packet.doc.root : undefined;
  const metaAttrs = (meta?.attrs ?? [])
    .filter((a) => !(a.uri === XMLNS_NS && a.local === 'x') && !(a.uri === NS.x && a.local === 'xmptk'))
    .map((a) => ` ${a.name}="${escapeXmlAttr(a.value)}"`)
    .join('');
  const out = wrapPacket(body, ` x:xmptk="${TOOL_ID}"${metaAttrs}`, opts.padding ?? 0);
  if (!rdfOpen) return out;
  return Buffer.from(Buffer.from(out).toString('utf8').replace(`<rdf:RDF xmlns:rdf="${NS.rdf}">`, `<rdf:RDF xmlns:rdf="${NS.rdf}"${rdfOpen}>`), 'utf8');
}
