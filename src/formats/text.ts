import { extname } from 'node:path';
import { TamgaError } from '../core/errors.js';

/**
 * Text containers: plain text, Markdown, HTML, SubRip, WebVTT and JSON answers of LLM APIs.
 * Labelling is a streaming transform (`TextLabeller`): chunks of decoded text in, labelled text
 * out, with a small state machine per flavour that knows where prose is (where the watermark may
 * go) and where the disclosure and markers belong. Nothing here needs the whole file.
 */
export type TextFlavour = 'plain' | 'markdown' | 'html' | 'srt' | 'vtt' | 'json';
export const TEXT_FLAVOURS: readonly TextFlavour[] = ['plain', 'markdown', 'html', 'srt', 'vtt', 'json'];

const BY_EXTENSION: Record<string, TextFlavour> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.srt': 'srt',
  '.vtt': 'vtt',
  '.json': 'json',
};

/** The flavour from the extension, else from the first bytes (for Buffers and streams). */
export function textFlavourOf(head: string, path?: string): TextFlavour {
  const byExt = path ? BY_EXTENSION[extname(path).toLowerCase()] : undefined;
  if (byExt) return byExt;
  const s = head.replace(/^\uFEFF/, '').trimStart();
  if (/^WEBVTT(?:[ \t]|\r?\n|$)/.test(s)) return 'vtt';
  if (/^\d+\r?\n\d{2}:\d{2}:\d{2},\d{3} --> /.test(s)) return 'srt';
  if (/^(<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(s)) return 'html';
  if (/^[{[]/.test(s) && /"\s*:/.test(s)) return 'json';
  if (/^---\r?\n[\s\S]*?\r?\n---\r?\n/.test(s) || /^#{1,6} /.test(s)) return 'markdown';
  return 'plain';
}

export type DisclosurePosition = 'start' | 'end' | 'both';

/** Marks a span of prose (watermark/text.ts TextWatermarkEmbedder): the labeller only hands it the text. */
export interface TextSpanMarker {
  embed(span: string): string;
}

export interface TextLabelPlan {
  flavour: TextFlavour;
  /** The visible disclosure line; undefined = no visible layer. */
  disclosure?: string;
  position: DisclosurePosition;
  /** Machine-readable markers (HTML meta, Markdown front matter); undefined = no metadata layer. */
  markers?: { name: string; content: string }[];
  watermark?: TextSpanMarker;
  /** JSON keys whose string values are the generated text. */
  jsonFields: readonly string[];
  /** '\r\n' when the input uses it. */
  newline: string;
}

export const HTML_BADGE_CLASS = 'tamga-ai-disclosure';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const jsonInner = (s: string) => JSON.stringify(s).slice(1, -1);
const yamlString = (s: string) => JSON.stringify(s);

/** Front matter keys tamga writes; earlier tamga keys are replaced on re-labelling. */
export const FRONT_MATTER_PREFIX = 'tamga_';
/** `tamga:content-id` -> `tamga_content_id`, `ai-generated` -> `tamga_ai_generated`. */
export const frontMatterKey = (marker: string): string => FRONT_MATTER_PREFIX + marker.replace(/^tamga:/, '').replace(/[^A-Za-z0-9]/g, '_');

function htmlBadge(text: string, where: 'start' | 'end'): string {
  return (
    `<p class="${HTML_BADGE_CLASS}" data-tamga="${where}" role="note" ` +
    `style="font:600 0.9em/1.4 sans-serif;color:#1f2328;background:#fff4ce;border:1px solid #d4a72c;padding:0.35em 0.6em;margin:0.5em 0">` +
    `${escapeHtml(text)}</p>`
  );
}

/** Elements whose content is not prose: never watermarked. */
const RAW_ELEMENTS = new Set(['script', 'style', 'pre', 'code', 'textarea', 'title', 'svg', 'math', 'kbd', 'samp']);
/** `<!DOCTYPE ...>` and `<?xml ...?>`: declarations, copied as they are. */
const DECLARATION = /^(?:!|\?)/;

/** Renders a cue time for SRT (`,`) or VTT (`.`). */
function cueTime(ms: number, sep: ',' | '.'): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

function parseCueTime(t: string): number | undefined {
  const m = /^(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})$/.exec(t.trim());
  if (!m) return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

/** Line-based flavours hold one line in memory; a file that is one endless line is refused, not buffered. */
export const MAX_LINE_CHARS = 64 << 20;
/** JSON: the labeller keeps a stack of open containers; no API answer nests anywhere near this. */
const MAX_JSON_DEPTH = 1 << 16;
const MAX_JSON_KEY = 4096;

/** How long the disclosure cue stays on screen (GB 45438 asks >= 2 s for video; 5 s reads comfortably). */
export const DISCLOSURE_CUE_MS = 5000;
const TIMING = /^\s*(\S+)\s+-->\s+(\S+)/;

/**
 * The streaming labeller. `push` takes decoded text in any chunking and returns what can be
 * written so far; `end` returns the rest. Output = input with the label inserted: nothing of
 * the input is dropped except an earlier tamga watermark (replaced) and earlier tamga markers.
 */
export class TextLabeller {
  private started = false;
  private pendingLine = '';
  /** HTML/JSON: the end of the last chunk, kept for the next one (see push). */
  private carry = '';
  private out: string[] = [];
  // Markdown
  private mdState: 'start' | 'frontmatter' | 'body' = 'start';
  private mdFence: string | undefined;
  private frontMatterDone = false;
  // HTML
  private htmlMode: 'text' | 'tag' | 'comment' | 'raw' = 'text';
  private htmlTag = '';
  private htmlQuote = '';
  private htmlRaw = '';
  /** The last 3 characters of htmlTag, and whether its last non-space character is '='. */
  private htmlTail = '';
  private htmlAfterEquals = false;
  /** An earlier marker tag was just dropped: its line break goes with it. */
  private htmlDropLineBreak = false;
  /** Whitespace before the tag being read: dropped with the tag when it is an earlier marker. */
  private htmlSpaceBeforeTag = '';
  private metaAt: 'head' | 'html' | 'start' = 'start';
  private badgeAt: 'body' | '/head' | 'start' = 'start';
  private metaDone = false;
  private badgeDone = false;
  private endBadgeDone = false;
  // SRT / VTT
  private cueState: 'header' | 'gap' | 'id' | 'text' | 'skip' = 'gap';
  private lastCueEnd = 0;
  private vttHeaderDone = false;
  private sawContent = false;
  private lastChar = '';
  // JSON
  private jsonStack: string[] = [];
  private jsonExpectKey = false;
  private jsonInString = false;
  private jsonEscape = false;
  private jsonIsKey = false;
  private jsonKey = '';
  private jsonKeyBuf = '';
  private jsonMarked = false;
  private jsonSpan = '';
  /** JSON: string values of the named fields found so far (0 at the end = nothing to label). */
  markedStrings = 0;

  constructor(private readonly plan: TextLabelPlan) {
    if (plan.flavour === 'vtt') this.cueState = 'header';
  }

  /** Call before the first push for HTML: where <head>/<body> are decides where markers go. */
  inspectHead(head: string): void {
    if (this.plan.flavour !== 'html') return;
    const noComments = head.replace(/<!--[\s\S]*?-->/g, '');
    this.metaAt = /<head[\s>]/i.test(noComments) ? 'head' : /<html[\s>]/i.test(noComments) ? 'html' : 'start';
    this.badgeAt = /<body[\s>]/i.test(noComments) ? 'body' : /<\/head\s*>/i.test(noComments) ? '/head' : 'start';
  }

  private get wantStart(): boolean {
    return this.plan.disclosure !== undefined && this.plan.position !== 'end';
  }
  private get wantEnd(): boolean {
    return this.plan.disclosure !== undefined && this.plan.position !== 'start';
  }

  private mark(s: string): string {
    return this.plan.watermark && s ? this.plan.watermark.embed(s) : s;
  }

  push(chunk: string): string {
    if (!this.started) {
      this.started = true;
      if (chunk.startsWith('\uFEFF')) {
        this.out.push('\uFEFF');
        chunk = chunk.slice(1);
      }
      this.begin();
    }
    if (chunk) this.lastChar = chunk[chunk.length - 1]!;
    if (this.plan.flavour === 'html' || this.plan.flavour === 'json') {
      // Hold back what the next chunk may change the meaning of: a run of variation selectors (an
      // earlier cluster cut in two would escape removal) and, in HTML, a '<' too close to the end
      // to tell a tag from text.
      const s = this.carry + chunk;
      let cut = s.length;
      const selectors = /[\uFE00-\uFE0F]+$/.exec(s);
      if (selectors) cut = selectors.index;
      const lt = this.plan.flavour === 'html' ? s.lastIndexOf('<') : -1;
      if (lt >= 0 && s.length - lt < 16) cut = Math.min(cut, lt);
      this.carry = s.slice(cut);
      this.pushMarkup(s.slice(0, cut));
    } else {
      // Only the new chunk can hold the next newline, and the held line is joined once when it
      // ends: searching or copying it on every chunk would make a long line quadratic.
      let from = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
        this.line(this.pendingLine + chunk.slice(from, nl + 1));
        this.pendingLine = '';
        from = nl + 1;
      }
      this.pendingLine += chunk.slice(from);
      if (this.pendingLine.length > MAX_LINE_CHARS) {
        throw new TamgaError('INPUT_TOO_LARGE', `a line of more than ${MAX_LINE_CHARS} characters: ${this.plan.flavour} text is labelled line by line`, { limit: MAX_LINE_CHARS });
      }
    }
    return this.drain();
  }

  private pushMarkup(s: string): void {
    if (this.plan.flavour === 'html') this.pushHtml(s);
    else this.pushJson(s);
  }

  end(): string {
    if (!this.started) this.push('');
    if (this.carry) {
      this.pushMarkup(this.carry);
      this.carry = '';
    }
    if (this.pendingLine) {
      this.line(this.pendingLine);
      this.pendingLine = '';
    }
    if (this.plan.flavour === 'json' && this.jsonSpan) this.flushJsonSpan();
    if (this.plan.flavour === 'html' && this.htmlTag) {
      // An unterminated tag at the end of the file is copied as it was.
      this.out.push(this.htmlTag);
      this.htmlTag = '';
    }
    this.finish();
    return this.drain();
  }

  private drain(): string {
    const s = this.out.join('');
    this.out = [];
    return s;
  }

  private begin(): void {
    const nl = this.plan.newline;
    const d = this.plan.disclosure;
    switch (this.plan.flavour) {
      case 'plain':
        if (this.wantStart) this.out.push(d! + nl + nl);
        break;
      case 'html':
        if (this.metaAt === 'start') this.emitMeta();
        if (this.badgeAt === 'start') this.emitStartBadge();
        break;
      case 'srt':
        if (this.wantStart) this.out.push(`1${nl}${cueTime(0, ',')} --> ${cueTime(DISCLOSURE_CUE_MS, ',')}${nl}${d}${nl}${nl}`);
        break;
      default:
        break;
    }
  }

  private finish(): void {
    const nl = this.plan.newline;
    const d = this.plan.disclosure;
    const sep = this.lastChar === '\n' || !this.sawAnything() ? '' : nl;
    switch (this.plan.flavour) {
      case 'plain':
        if (this.wantEnd) this.out.push(`${sep}${nl}${d}${nl}`);
        break;
      case 'markdown':
        if (this.mdState === 'start' || (this.mdState === 'frontmatter' && !this.frontMatterDone)) this.openMarkdownBody(true);
        if (this.wantEnd) this.out.push(`${sep}${nl}*${d}*${nl}`);
        break;
      case 'html':
        if (!this.metaDone) this.emitMeta();
        if (!this.badgeDone) this.emitStartBadge();
        if (this.wantEnd && !this.endBadgeDone) this.out.push(htmlBadge(d!, 'end') + nl);
        break;
      case 'srt':
      case 'vtt':
        if (this.plan.flavour === 'vtt' && !this.vttHeaderDone) this.emitVttStart();
        if (this.wantEnd) {
          const t0 = this.lastCueEnd;
          const t = (ms: number) => cueTime(ms, this.plan.flavour === 'srt' ? ',' : '.');
          const id = this.plan.flavour === 'srt' ? `${this.cueCount + 1}${nl}` : `tamga-disclosure-end${nl}`;
          this.out.push(`${sep}${nl}${id}${t(t0)} --> ${t(t0 + DISCLOSURE_CUE_MS)}${nl}${d}${nl}`);
        }
        break;
      default:
        break;
    }
  }

  private sawAnything(): boolean {
    return this.lastChar !== '' || this.sawContent;
  }

  // ----------------------------------------------------------------------------------------- lines

  private line(l: string): void {
    this.sawContent = true;
    switch (this.plan.flavour) {
      case 'plain':
        this.out.push(this.mark(l));
        return;
      case 'markdown':
        return this.markdownLine(l);
      case 'srt':
      case 'vtt':
        return this.cueLine(l);
      default:
        this.out.push(l);
    }
  }

  private frontMatter(): string {
    const nl = this.plan.newline;
    return (this.plan.markers ?? []).map((m) => `${frontMatterKey(m.name)}: ${yamlString(m.content)}${nl}`).join('');
  }

  private openMarkdownBody(atEnd = false): void {
    if (this.mdState === 'start' && this.plan.markers?.length) {
      const nl = this.plan.newline;
      this.out.push(`---${nl}${this.frontMatter()}---${nl}`);
    }
    this.mdState = 'body';
    this.frontMatterDone = true;
    if (this.wantStart && !atEnd) this.out.push(`*${this.plan.disclosure}*${this.plan.newline}${this.plan.newline}`);
    else if (this.wantStart && atEnd) this.out.push(`*${this.plan.disclosure}*${this.plan.newline}`);
  }

  private markdownLine(l: string): void {
    const bare = l.replace(/\r?\n$/, '');
    if (this.mdState === 'start') {
      if (bare === '---') {
        this.mdState = 'frontmatter';
        this.out.push(l);
        return;
      }
      this.openMarkdownBody();
    } else if (this.mdState === 'frontmatter') {
      if (bare === '---' || bare === '...') {
        this.out.push(this.frontMatter());
        this.out.push(l);
        this.mdState = 'body';
        this.frontMatterDone = true;
        if (this.wantStart) this.out.push(`*${this.plan.disclosure}*${this.plan.newline}${this.plan.newline}`);
        return;
      }
      // An earlier run's keys are replaced, not duplicated.
      if (!bare.startsWith(FRONT_MATTER_PREFIX)) this.out.push(l);
      return;
    }
    const fence = /^ {0,3}(`{3,}|~{3,})/.exec(bare);
    if (this.mdFence) {
      if (fence && fence[1]![0] === this.mdFence[0] && fence[1]!.length >= this.mdFence.length) this.mdFence = undefined;
      this.out.push(l);
      return;
    }
    if (fence) {
      this.mdFence = fence[1];
      this.out.push(l);
      return;
    }
    // Indented code, HTML blocks and link reference definitions are not prose.
    if (/^( {4}|\t)/.test(bare) || /^\s*</.test(bare) || /^\s*\[[^\]]+\]:\s/.test(bare)) {
      this.out.push(l);
      return;
    }
    // Inline code spans stay untouched; the rest of the line is prose.
    const parts = l.split(/(`+[^`]*`+)/);
    this.out.push(parts.map((p, i) => (i % 2 === 1 ? p : this.mark(p))).join(''));
  }

  private cueCount = 0;

  private emitVttStart(): void {
    this.vttHeaderDone = true;
    if (!this.wantStart) return;
    const nl = this.plan.newline;
    this.out.push(`${nl}tamga-disclosure${nl}${cueTime(0, '.')} --> ${cueTime(DISCLOSURE_CUE_MS, '.')}${nl}${this.plan.disclosure}${nl}`);
  }

  private cueLine(l: string): void {
    const bare = l.replace(/\r?\n$/, '');
    const srt = this.plan.flavour === 'srt';
    if (this.cueState === 'header') {
      // WebVTT header: everything up to the first blank line.
      this.out.push(l);
      if (bare.trim() === '') {
        this.vttHeaderDone = true;
        if (this.wantStart) this.out.push(`tamga-disclosure${this.plan.newline}${cueTime(0, '.')} --> ${cueTime(DISCLOSURE_CUE_MS, '.')}${this.plan.newline}${this.plan.disclosure}${this.plan.newline}${this.plan.newline}`);
        this.cueState = 'gap';
      }
      return;
    }
    if (bare.trim() === '') {
      this.cueState = 'gap';
      this.out.push(l);
      return;
    }
    if (this.cueState === 'gap') {
      if (!srt && /^(NOTE|STYLE|REGION)(\s|$)/.test(bare)) {
        this.cueState = 'skip';
        this.out.push(l);
        return;
      }
      this.cueState = 'id';
      if (srt && /^\d+$/.test(bare.trim())) {
        // SubRip numbers cues from 1: ours is 1, so every later cue moves up by one.
        this.cueCount = Number(bare.trim()) + (this.wantStart ? 1 : 0);
        this.out.push(`${this.cueCount}${l.slice(bare.length)}`);
        return;
      }
    }
    if (this.cueState === 'id') {
      const t = TIMING.exec(bare);
      if (t) {
        const end = parseCueTime(t[2]!);
        if (end !== undefined) this.lastCueEnd = Math.max(this.lastCueEnd, end);
        this.cueState = 'text';
      }
      this.out.push(l);
      return;
    }
    if (this.cueState === 'text') {
      // Cue text may hold tags (<i>, <v Speaker>): mark only the text between them. Scanned with
      // indexOf, not split(/(<[^>]*>)/), which is quadratic on a line of '<' without a '>'.
      let out = '';
      let at = 0;
      for (let lt = l.indexOf('<'); lt >= 0; lt = l.indexOf('<', at)) {
        const gt = l.indexOf('>', lt + 1);
        if (gt < 0) break;
        out += this.mark(l.slice(at, lt)) + l.slice(lt, gt + 1);
        at = gt + 1;
      }
      this.out.push(out + this.mark(l.slice(at)));
      return;
    }
    this.out.push(l);
  }

  // ------------------------------------------------------------------------------------------ HTML

  private emitMeta(): void {
    if (this.metaDone) return;
    this.metaDone = true;
    if (!this.plan.markers?.length) return;
    const nl = this.plan.newline;
    this.out.push(nl + this.plan.markers.map((m) => `<meta name="${escapeHtml(m.name)}" content="${escapeHtml(m.content)}">`).join(nl) + nl);
  }

  private emitStartBadge(): void {
    if (this.badgeDone) return;
    this.badgeDone = true;
    if (this.wantStart) this.out.push(this.plan.newline + htmlBadge(this.plan.disclosure!, 'start') + this.plan.newline);
  }

  private pushHtml(chunk: string): void {
    let text = '';
    const flushText = () => {
      if (text) this.out.push(this.htmlMode === 'raw' ? text : this.mark(text));
      text = '';
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.htmlMode === 'tag' || this.htmlMode === 'comment') {
        // Per character, only O(1) work on the tag held so far (no slice, test or endsWith of it):
        // a tag or comment megabytes long must not cost time quadratic in its length.
        this.htmlTag += c;
        if (this.htmlTag.length > MAX_LINE_CHARS) {
          throw new TamgaError('INPUT_TOO_LARGE', `an HTML tag or comment of more than ${MAX_LINE_CHARS} characters`, { limit: MAX_LINE_CHARS });
        }
        const tail = this.htmlTail;
        this.htmlTail = (tail + c).slice(-3);
        if (this.htmlMode === 'comment') {
          if (this.htmlTail === '-->') this.closeTag();
          continue;
        }
        if (this.htmlTag.length === 4 && this.htmlTail === '!--') {
          this.htmlMode = 'comment';
          continue;
        }
        const afterEquals = this.htmlAfterEquals;
        if (!/\s/.test(c)) this.htmlAfterEquals = c === '=';
        if (this.htmlQuote) {
          if (c === this.htmlQuote) this.htmlQuote = '';
        } else if ((c === '"' || c === "'") && afterEquals) {
          this.htmlQuote = c;
        } else if (c === '>') {
          this.closeTag();
        }
        continue;
      }
      if (c === '<' && (i + 1 >= chunk.length || /[A-Za-z/!?]/.test(chunk[i + 1]!))) {
        // In raw elements only their own end tag ends the raw text.
        if (this.htmlMode === 'raw') {
          const rest = chunk.slice(i, i + 2 + this.htmlRaw.length).toLowerCase();
          if (i + 2 + this.htmlRaw.length <= chunk.length && rest !== `</${this.htmlRaw}`) {
            text += c;
            continue;
          }
        }
        // Whitespace-only text before a tag waits for the tag: it goes if the tag is dropped.
        if (this.htmlMode === 'text' && /^\s+$/.test(text)) {
          this.htmlSpaceBeforeTag = text;
          text = '';
        } else flushText();
        this.htmlMode = 'tag';
        this.htmlTag = '<';
        this.htmlTail = '<';
        this.htmlAfterEquals = false;
        continue;
      }
      if (this.htmlDropLineBreak) {
        if (c === '\r' || c === '\n') {
          if (c === '\n') this.htmlDropLineBreak = false;
          continue;
        }
        this.htmlDropLineBreak = false;
      }
      text += c;
    }
    flushText();
  }

  private closeTag(): void {
    const tag = this.htmlTag;
    const wasRaw = this.htmlRaw;
    this.htmlTag = '';
    this.htmlMode = 'text';
    const m = /^<(\/?)([A-Za-z][A-Za-z0-9-]*)/.exec(tag);
    const name = m?.[2]?.toLowerCase() ?? '';
    const closing = m?.[1] === '/';
    const space = this.htmlSpaceBeforeTag;
    this.htmlSpaceBeforeTag = '';
    // Earlier tamga markers are replaced on re-labelling, and a TDMRep reservation we write replaces
    // the page's own one (never two; otherwise theirs stays). A dropped tag takes its line with it.
    const replaced =
      !wasRaw &&
      !closing &&
      name === 'meta' &&
      (/\bname="(?:ai-generated|ai-disclosure|tamga:[^"]*|digital-source-type|AIGC)"/.test(tag) ||
        (/\bname=["']?tdm-reservation\b/i.test(tag) && Boolean(this.plan.markers?.some((m) => m.name === 'tdm-reservation'))));
    if (replaced) {
      this.htmlDropLineBreak = true;
      return;
    }
    if (space) this.out.push(this.mark(space));
    if (wasRaw) {
      if (closing && name === wasRaw) {
        this.htmlRaw = '';
        this.out.push(tag);
      } else {
        // Not the end of the raw element: it was raw text that looked like a tag.
        this.out.push(tag);
        this.htmlMode = 'raw';
      }
      return;
    }
    if (DECLARATION.test(tag.slice(1)) || !m) {
      this.out.push(tag);
      return;
    }
    if (closing && name === 'body' && this.wantEnd && !this.endBadgeDone) {
      this.endBadgeDone = true;
      this.out.push(htmlBadge(this.plan.disclosure!, 'end') + this.plan.newline);
    }
    this.out.push(tag);
    if (!closing && RAW_ELEMENTS.has(name) && !tag.endsWith('/>')) {
      this.htmlRaw = name;
      this.htmlMode = 'raw';
    }
    if (!closing && name === 'head' && this.metaAt === 'head') this.emitMeta();
    if (!closing && name === 'html' && this.metaAt === 'html') this.emitMeta();
    if (!closing && name === 'body' && this.badgeAt === 'body') this.emitStartBadge();
    if (closing && name === 'head' && this.badgeAt === '/head') this.emitStartBadge();
  }

  // ------------------------------------------------------------------------------------------ JSON

  private flushJsonSpan(): void {
    this.out.push(this.mark(this.jsonSpan));
    this.jsonSpan = '';
  }

  private pushJson(chunk: string): void {
    let plain = '';
    const fields = this.plan.jsonFields;
    const d = this.plan.disclosure;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.jsonInString) {
        if (this.jsonEscape) {
          this.jsonEscape = false;
        } else if (c === '\\') {
          this.jsonEscape = true;
        } else if (c === '"') {
          this.jsonInString = false;
          if (this.jsonIsKey) this.jsonKey = this.jsonKeyBuf.length > MAX_JSON_KEY ? '' : this.jsonKeyBuf;
          if (this.jsonMarked) {
            this.flushJsonSpan();
            if (this.wantEnd) this.out.push(`\\n\\n${jsonInner(d!)}`);
            this.out.push('"');
            this.jsonMarked = false;
            continue;
          }
        }
        if (this.jsonMarked) this.jsonSpan += c;
        else {
          // A key longer than any field name cannot match one: stop collecting it (and never match).
          if (this.jsonIsKey && this.jsonInString && this.jsonKeyBuf.length <= MAX_JSON_KEY) this.jsonKeyBuf += c;
          plain += c;
        }
        continue;
      }
      switch (c) {
        case '{':
          if (this.jsonStack.length >= MAX_JSON_DEPTH) throw new TamgaError('INPUT_TOO_LARGE', `JSON nested more than ${MAX_JSON_DEPTH} deep`, { limit: MAX_JSON_DEPTH });
          this.jsonStack.push('{');
          this.jsonExpectKey = true;
          break;
        case '[':
          if (this.jsonStack.length >= MAX_JSON_DEPTH) throw new TamgaError('INPUT_TOO_LARGE', `JSON nested more than ${MAX_JSON_DEPTH} deep`, { limit: MAX_JSON_DEPTH });
          this.jsonStack.push('[');
          this.jsonExpectKey = false;
          break;
        case '}':
        case ']':
          this.jsonStack.pop();
          this.jsonExpectKey = false;
          break;
        case ',':
          this.jsonExpectKey = this.jsonStack[this.jsonStack.length - 1] === '{';
          break;
        case ':':
          this.jsonExpectKey = false;
          break;
        case '"': {
          const inObject = this.jsonStack[this.jsonStack.length - 1] === '{';
          this.jsonInString = true;
          this.jsonIsKey = inObject && this.jsonExpectKey;
          this.jsonKeyBuf = '';
          if (!this.jsonIsKey && inObject && fields.includes(this.jsonKey)) {
            plain += '"';
            this.out.push(plain);
            plain = '';
            if (this.wantStart) this.out.push(`${jsonInner(d!)}\\n\\n`);
            this.jsonMarked = true;
            this.markedStrings++;
            continue;
          }
          break;
        }
        default:
          break;
      }
      plain += c;
    }
    if (this.jsonMarked) {
      // Mark what we have; a space split across chunks only shifts one cluster.
      this.out.push(plain);
      this.flushJsonSpan();
    } else this.out.push(plain);
  }
}
