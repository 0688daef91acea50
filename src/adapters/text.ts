import { openSync, closeSync, writeSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WHOLE_WRITE_LIMIT, tempPathFor, writeFileAtomically } from '../core/edit.js';
import { TamgaError } from '../core/errors.js';
import { digitalSourceTypeUri, WRITABLE_SOURCE_TYPES, type Provenance } from '../core/provenance.js';
import { FileReader, type ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, Layer } from '../core/types.js';
import { DISCLOSURE_LANGS, disclosureTexts } from '../disclosure/catalogue.js';
import { readHtml, type HtmlReading } from '../formats/html.js';
import { FRONT_MATTER_PREFIX, HTML_BADGE_CLASS, TextLabeller, textFlavourOf, type TextFlavour, type TextLabelPlan } from '../formats/text.js';
import { tc260Fields } from '../metadata/xmp.js';
import { TOOL_ID } from '../version.js';
import { keyFingerprint } from '../watermark/image-layer.js';
import { watermarkKeysOf } from '../watermark/keys.js';
import { watermarkIdOf } from '../watermark/payload.js';
import { detectTextWatermark, detectTextWatermarkKeys, stripTextWatermark, TextWatermarkEmbedder } from '../watermark/text.js';
import { xmpLabelFor } from './image.js';
import type { LabelSteps, MediaAdapter, ResolvedLabelOptions, StepOutput } from './types.js';

/** Bytes read at a time by the streaming transform. */
const CHUNK = 1 << 20;
/** Detection reads this much from the start (labels, markers, most of the watermark) ... */
export const DETECT_HEAD_BYTES = 1 << 20;
/** ... and this much from the end (a disclosure line at the end). Multi-GB files cost two reads. */
export const DETECT_TAIL_BYTES = 64 << 10;
/** Flavours with a metadata carrier. */
const HAS_MARKERS: ReadonlySet<TextFlavour> = new Set(['html', 'markdown']);

/** HTML meta names / front matter keys (as `tamga_<name>`). `ai-generated` and `digital-source-type` are our convention, not a standard. */
function markersFor(p: Provenance, disclosure: string): { name: string; content: string }[] {
  const m = [
    { name: 'ai-generated', content: 'true' },
    { name: 'digital-source-type', content: digitalSourceTypeUri(p.digitalSourceType) },
    { name: 'ai-disclosure', content: disclosure },
    { name: 'tamga:content-id', content: p.contentId },
    { name: 'tamga:created-at', content: p.createdAt },
  ];
  if (p.generator) m.push({ name: 'tamga:generator', content: p.generator.version ? `${p.generator.name}/${p.generator.version}` : p.generator.name });
  if (p.provider) m.push({ name: 'tamga:provider', content: p.provider });
  if (p.model) m.push({ name: 'tamga:model', content: p.model });
  // GB 45438 Appendix E generic extension-field form, for Chinese platforms' checkers.
  m.push({ name: 'tamga:labeller', content: TOOL_ID }, { name: 'AIGC', content: JSON.stringify({ AIGC: tc260Fields(p) }) });
  return m;
}

/** W3C TDMRep HTML meta (labelling-standards.md §9.1): LabelOptions.reserveTraining for HTML. */
const TDM_RESERVATION_META = { name: 'tdm-reservation', content: '1' };

const decoderFor = () => new TextDecoder('utf-8', { fatal: true });

function decodeChunk(d: TextDecoder, bytes: Uint8Array, name: string, offset: number, last: boolean): string {
  try {
    return d.decode(bytes, { stream: !last });
  } catch (e) {
    throw new TamgaError('CORRUPT_INPUT', `${name}: not valid UTF-8 near byte ${offset}; tamga labels UTF-8 text only`, { offset }, { cause: e });
  }
}

/** Runs the labeller over the whole input in CHUNK-sized reads, handing each output piece to `sink`. */
async function transform(reader: ByteReader, plan: () => TextLabelPlan, head: string, sink: (b: Uint8Array) => void): Promise<TextLabeller> {
  const labeller = new TextLabeller(plan());
  labeller.inspectHead(head);
  const d = decoderFor();
  for (let at = 0; at < reader.size; at += CHUNK) {
    const n = Math.min(CHUNK, reader.size - at);
    const s = labeller.push(decodeChunk(d, await reader.read(at, n), reader.name, at, at + n >= reader.size));
    if (s) sink(Buffer.from(s, 'utf8'));
  }
  const rest = labeller.end();
  if (rest) sink(Buffer.from(rest, 'utf8'));
  return labeller;
}

async function prepareText(reader: ByteReader, _format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<LabelSteps> {
  const headBytes = await reader.read(0, Math.min(reader.size, 64 << 10));
  const head = Buffer.from(headBytes).toString('utf8');
  const flavour = textFlavourOf(head, reader.path);
  const cannot: LabelSteps['cannot'] = { c2pa: `c2pa-rs cannot embed a manifest in ${flavour} text` };
  if (!HAS_MARKERS.has(flavour)) cannot.metadata = `${flavour} text has no metadata carrier; the disclosure line and the watermark carry the label`;
  return { cannot, combined: (input, layers) => labelTextLayers(input, flavour, head, headBytes.length, p, opts, layers) };
}

/** Text's one streaming pass: the disclosure line, the metadata markers and the watermark together. */
async function labelTextLayers(reader: ByteReader, flavour: TextFlavour, head: string, headLength: number, p: Provenance, opts: ResolvedLabelOptions, layers: ReadonlySet<Layer>): Promise<StepOutput> {
  const disclosure = xmpLabelFor(p, opts).disclosure.line;
  const visible = layers.has('visible');
  const metadata = layers.has('metadata');
  const watermark = layers.has('watermark');
  // Relabelling keeps one visible disclosure: an output of ours already shows it (metadata and watermark are replaced).
  const tailLength = Math.min(reader.size - headLength, 64 << 10);
  const tail = tailLength > 0 ? Buffer.from(await reader.read(reader.size - tailLength, tailLength)).toString('utf8') : '';
  // (Our watermark's variation selectors may sit inside an earlier line: compare without them.)
  const disclosed = visible && (flavour === 'html' ? readHtml(head).classes.has(HTML_BADGE_CLASS) : stripTextWatermark(head).text.includes(disclosure) || stripTextWatermark(tail).text.includes(disclosure));
  const jsonFields = opts.jsonFields ?? ['content', 'text'];
  const makePlan = (): TextLabelPlan => ({
    flavour,
    position: opts.textPosition ?? 'start',
    jsonFields,
    newline: head.includes('\r\n') ? '\r\n' : '\n',
    ...(visible && !disclosed ? { disclosure } : {}),
    ...(metadata ? { markers: [...markersFor(p, disclosure), ...(opts.reserveTraining && flavour === 'html' ? [TDM_RESERVATION_META] : [])] } : {}),
    ...(watermark ? { watermark: new TextWatermarkEmbedder(opts.watermarkKey!, watermarkIdOf(p.contentId)) } : {}),
  });
  const checkJson = (l: TextLabeller) => {
    if (flavour === 'json' && l.markedStrings === 0) {
      throw new TamgaError('INVALID_OPTION', `${reader.name}: no string value under the JSON key(s) ${jsonFields.join(', ')}; name the text field with jsonFields (--json-field)`, { option: 'jsonFields' });
    }
  };
  if (reader.size <= WHOLE_WRITE_LIMIT) {
    const parts: Uint8Array[] = [];
    checkJson(await transform(reader, makePlan, head, (b) => parts.push(b)));
    return { plan: [{ bytes: Buffer.concat(parts) }] };
  }
  // Large input: stream the result to an unlinked temp file (memory stays at one chunk) and let
  // the entry point copy it to the destination, like any other plan.
  const tmp = tempPathFor(`${tmpdir()}/tamga-text`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw new TamgaError('WRITE_FAILED', `cannot create a temp file in ${tmpdir()}: ${(e as Error).message}`, {}, { cause: e });
  }
  let size = 0;
  try {
    checkJson(
      await transform(reader, makePlan, head, (b) => {
        for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
        size += b.length;
      }),
    );
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  const from = await FileReader.open(tmp);
  unlinkSync(tmp);
  return { plan: [{ copy: [0, size] }], from };
}

// ------------------------------------------------------------------------------------------ detect

interface Phrase {
  text: string;
  lang: string;
}

/** Every disclosure of the catalogue, plus common third-party wordings (lower-cased for matching). */
const PHRASES: Phrase[] = (() => {
  const seen = new Set<string>();
  const out: Phrase[] = [];
  const add = (text: string, lang: string) => {
    const k = text.toLowerCase();
    if (!seen.has(k)) out.push({ text: k, lang }), seen.add(k);
  };
  for (const dst of WRITABLE_SOURCE_TYPES) for (const len of ['long', 'short'] as const) for (const d of disclosureTexts(dst, DISCLOSURE_LANGS, len)) add(d.text, d.lang);
  for (const t of ['generated by ai', 'created with ai', 'ai-generated content', 'this text was produced using ai', 'written by ai', 'generated with chatgpt']) add(t, 'en');
  // labelling-standards.md §7.4 phrasings besides the catalogue's.
  for (const t of ['сгенерировано искусственным интеллектом', 'создано с помощью ии', 'этот текст подготовлен с использованием искусственного интеллекта']) add(t, 'ru');
  for (const t of ['жасанды интеллект көмегімен жасалған', 'бұл мәтін жасанды интеллект көмегімен дайындалған']) add(t, 'kk');
  for (const t of ['人工智能生成', '由ai生成']) add(t, 'zh');
  // Longest first, so a long phrase is reported rather than the short one inside it.
  return out.sort((a, b) => b.text.length - a.text.length);
})();

/**
 * Invisible characters worth reporting. None is a documented LLM watermark: the U+202F narrow
 * no-break spaces seen in some 2025 chatbot output were called a formatting artefact by the vendor.
 */
const INVISIBLES: Record<number, string> = {
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x2060: 'WORD JOINER',
  0x202f: 'NARROW NO-BREAK SPACE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE (not at the start)',
  0x00ad: 'SOFT HYPHEN',
};

function invisibleCharacters(text: string): Record<string, number> | undefined {
  const counts: Record<string, number> = {};
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let name = INVISIBLES[c];
    if (c === 0xfeff && i === 0) name = undefined;
    if (c >= 0xfe00 && c <= 0xfe0f) name = 'VARIATION SELECTOR';
    if (c === 0xdb40) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdc7f) name = 'TAG CHARACTER';
      else if (lo >= 0xdd00 && lo <= 0xddef) name = 'VARIATION SELECTOR SUPPLEMENT';
    }
    if (!name) continue;
    counts[name] = (counts[name] ?? 0) + 1;
    any = true;
  }
  return any ? counts : undefined;
}

const TAMGA_FIELDS = new Set(['content-id', 'created-at', 'generator', 'provider', 'model', 'labeller']);
/** Meta names that label AI content (ours and common ones). */
const AI_META = /^(ai-generated|ai-disclosure|digital-?source-?type|aigc|tamga:.*|generated-by|ai-content.*|x-ai-.*)$/i;

function markerFindings(text: string, flavour: TextFlavour, html: HtmlReading | undefined, opts: DetectOptions): { findings: Finding[]; contentId?: string } {
  const out: Finding[] = [];
  const fields: Record<string, string> = {};
  if (html) {
    // Real <meta> elements only: one inside a comment or a script is text, not a label.
    for (const { name, by, content, offset } of html.metas) {
      if (by === 'http-equiv') continue;
      if (AI_META.test(name)) {
        fields[name.toLowerCase()] = content;
        out.push({ layer: 'metadata', kind: 'html:meta', value: { name, content }, confidence: 1, where: `html:meta@${offset}` });
      } else if (!opts.labelsOnly && /^generator$/i.test(name)) {
        out.push({ layer: 'signal', kind: 'html:meta', value: { name, content }, confidence: 1, where: `html:meta@${offset}` });
      }
    }
  }
  const fm = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)\r?\n/.exec(text);
  if (fm) {
    for (const line of fm[1]!.split(/\r?\n/)) {
      const kv = new RegExp(`^(${FRONT_MATTER_PREFIX}[A-Za-z0-9_]+|ai_generated|ai-generated):\\s*(.*)$`).exec(line);
      if (!kv) continue;
      let v = kv[2]!.trim();
      try {
        if (v.startsWith('"')) v = JSON.parse(v) as string;
      } catch {
        // A plain YAML scalar: kept as written.
      }
      const key = kv[1]!;
      // tamga_content_id -> tamga:content-id, tamga_ai_generated -> ai-generated (the HTML meta names).
      const k = key.replace(FRONT_MATTER_PREFIX, '').toLowerCase().replace(/_/g, '-');
      fields[TAMGA_FIELDS.has(k) ? `tamga:${k}` : k] = v;
      out.push({ layer: 'metadata', kind: 'markdown:front-matter', value: { key, value: v }, confidence: 1, where: 'markdown:front-matter' });
    }
  }
  const aigc = fields['aigc'];
  if (aigc) {
    try {
      const j = JSON.parse(aigc) as { AIGC?: Record<string, string> };
      if (j.AIGC) out.push({ layer: 'metadata', kind: 'text:tc260-aigc', value: j.AIGC, confidence: 1, where: flavour === 'html' ? 'html:meta' : 'markdown:front-matter' });
    } catch {
      out.push({ layer: 'metadata', kind: 'text:tc260-aigc', value: { raw: aigc }, confidence: 0.5 });
    }
  }
  const contentId = fields['tamga:content-id'];
  if (contentId) {
    const createdAt = fields['tamga:created-at'];
    const dst = fields['digital-source-type'];
    out.push({
      layer: 'metadata',
      kind: 'text:tamga',
      value: { contentId, ...(createdAt ? { createdAt } : {}), ...(dst ? { digitalSourceType: dst.replace(/^.*\//, '') } : {}) },
      confidence: 1,
      where: flavour === 'html' ? 'html:meta' : 'markdown:front-matter',
    });
  }
  return contentId ? { findings: out, contentId } : { findings: out };
}

function disclosureFindings(head: string, tail: string | undefined): Finding[] {
  const out: Finding[] = [];
  const scan = (text: string, isHead: boolean) => {
    const found = new Set<string>();
    // Watermark clusters between words must not hide a phrase.
    const clean = text.replace(/[\uFE00-\uFE0F]/g, '');
    const lower = clean.toLowerCase();
    // Within 2,000 characters of the start of the file (head) or of its end (tail, or a head that is the whole file).
    const positionOf = (at: number) => (isHead && at < 2000 ? 'start' : (!isHead || tail === undefined) && lower.length - at < 2000 ? 'end' : 'middle');
    for (const p of PHRASES) {
      if ([...found].some((f) => f.includes(p.text))) continue;
      const first = lower.indexOf(p.text);
      if (first < 0) continue;
      found.add(p.text);
      const last = lower.lastIndexOf(p.text);
      const places = positionOf(last) !== positionOf(first) ? [first, last] : [first];
      for (const at of places) {
        const position = positionOf(at);
        out.push({ layer: 'visible', kind: 'text:disclosure-line', value: { text: clean.slice(at, at + p.text.length), lang: p.lang, position }, confidence: position === 'middle' ? 0.7 : 0.9, where: `text@char ${at}` });
      }
    }
  };
  scan(head, true);
  if (tail !== undefined) scan(tail, false);
  return out;
}

async function detectText(reader: ByteReader, _format: Format, opts: DetectOptions): Promise<Finding[]> {
  const headLen = Math.min(reader.size, DETECT_HEAD_BYTES);
  const head = Buffer.from(await reader.read(0, headLen)).toString('utf8');
  const tailStart = Math.max(headLen, reader.size - DETECT_TAIL_BYTES);
  const tail = tailStart < reader.size ? Buffer.from(await reader.read(tailStart, reader.size - tailStart)).toString('utf8') : undefined;
  const flavour = textFlavourOf(head, reader.path);
  const findings: Finding[] = [];
  // HTML is read as a browser shows it: a disclosure in a comment, a script or an attribute is not visible.
  const html = flavour === 'html' || /<meta\b/i.test(head.slice(0, 4096)) ? readHtml(head) : undefined;
  const markers = markerFindings(head, flavour, html, opts);
  findings.push(...markers.findings);
  if (flavour === 'html') findings.push(...disclosureFindings(html!.text, tail === undefined ? undefined : readHtml(tail).text));
  else findings.push(...disclosureFindings(head, tail));
  const badgeAt = flavour === 'html' ? html!.classes.get(HTML_BADGE_CLASS) : undefined;
  if (badgeAt !== undefined) {
    findings.push({ layer: 'visible', kind: 'html:badge', value: { class: HTML_BADGE_CLASS }, confidence: 1, where: `html@char ${badgeAt}` });
  }
  // The clusters are read once; every key is tried on them.
  for (const [key, w] of detectTextWatermarkKeys(tail === undefined ? head : head + tail, watermarkKeysOf(opts))) {
    const matches = markers.contentId && Buffer.from(watermarkIdOf(markers.contentId)).toString('hex') === w.payload;
    findings.push({
      layer: 'watermark',
      kind: 'watermark:tamga-text',
      value: { ...w, key: keyFingerprint(key), ...(matches ? { contentId: markers.contentId } : {}) },
      confidence: w.confidence,
      where: `text:variation-selectors`,
    });
  }
  if (!opts.labelsOnly) {
    const inv = invisibleCharacters(tail === undefined ? head : head + tail);
    if (inv) findings.push({ layer: 'signal', kind: 'text:invisible-characters', value: inv, confidence: 1 });
  }
  return findings;
}

export const textAdapter: MediaAdapter = {
  kind: 'text',
  formats: ['text'],
  prepare: prepareText,
  detect: detectText,
};

// ------------------------------------------------------------------------------------------- strip

/**
 * Removes the text watermark from a file (`tamga strip`), streaming: clusters are removed chunk by
 * chunk, with a cluster cut by a chunk boundary carried over. With `key`, only a watermark that
 * decodes with that key (checked on the first MiB) is removed; without, every cluster-shaped run.
 * Returns how many clusters went.
 */
export async function stripTextWatermarkFile(input: string, output: string, key?: string, opts: { overwrite?: boolean } = {}): Promise<{ removed: number; bytes: number }> {
  const reader = await FileReader.open(input);
  try {
    if (key !== undefined) {
      const head = Buffer.from(await reader.read(0, Math.min(reader.size, DETECT_HEAD_BYTES))).toString('utf8');
      if (!detectTextWatermark(head, key)) return { removed: 0, bytes: 0 };
    }
    let removed = 0;
    const bytes = await writeFileAtomically(
      output,
      async (write) => {
        const d = decoderFor();
        let carry = '';
        for (let at = 0; at < reader.size; at += CHUNK) {
          const n = Math.min(CHUNK, reader.size - at);
          let s = carry + decodeChunk(d, await reader.read(at, n), reader.name, at, at + n >= reader.size);
          carry = '';
          if (at + n < reader.size) {
            const tailRun = /[\uFE00-\uFE0F]+$/.exec(s);
            if (tailRun) {
              carry = tailRun[0];
              s = s.slice(0, tailRun.index);
            }
          }
          const r = stripTextWatermark(s);
          removed += r.removed;
          if (r.text) await write(Buffer.from(r.text, 'utf8'));
        }
        if (carry) await write(Buffer.from(carry, 'utf8'));
      },
      { noOverwrite: opts.overwrite === false },
    );
    return { removed, bytes };
  } finally {
    await reader.close();
  }
}
