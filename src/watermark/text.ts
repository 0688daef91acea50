import { rsDecode, rsEncode } from './ecc.js';
import { keyedBytes, keyedTag } from './prng.js';
import { WATERMARK_ID_BYTES } from './payload.js';

/**
 * Invisible, keyed text watermark.
 *
 * Carrier: the 16 variation selectors VS1..VS16 (U+FE00..U+FE0F), three per "cluster" (12 bits),
 * placed right after a space (or CJK punctuation) in prose. Why these and not the alternatives:
 * - They are default-ignorable marks with no decomposition, so NFC, NFD, NFKC and NFKD leave them
 *   alone (zero-width space U+200B also survives, but U+FEFF is eaten as a BOM, and ZWJ/ZWNJ change
 *   shaping in Arabic and Indic scripts and joins emoji).
 * - They are not whitespace to JavaScript `\s`, Python `str.split()` or HTML whitespace collapsing,
 *   so whitespace normalisation keeps them; browsers keep them in copied text.
 * - After a space, no standardised variation sequence exists, so they select nothing and render as
 *   nothing (after a letter, VS15/VS16 could switch a character to text/emoji presentation: we
 *   never put them there).
 * - Tag characters (U+E0000 block) are astral (4 UTF-8 bytes each, 2 UTF-16 units) and are dropped
 *   by more software; each carries 7 bits, not enough to justify the risk.
 *
 * Cluster bits: codeword index (4) | codeword byte XOR keyed whitening (8). The codeword is
 * Reed-Solomon RS(16,10) over a 10-byte payload: 8 bytes of content id (a hash of the Provenance
 * contentId) and a 2-byte keyed MAC. The 16 indexes cycle through the text, one cluster after
 * every word, so any 10 consecutive clusters (about 90 characters of prose) recover the payload by
 * erasure decoding; more clusters out-vote damaged ones and RS corrects what is left. Without the
 * key the clusters are uniformly random bytes; with the wrong key the MAC fails (2^-16).
 * Three characters per cluster rather than four with a per-cluster check: in a 200-character
 * excerpt the shorter clusters leave room for more words, which is what the 99 % target needs.
 *
 * Limits (README "Text watermark"): retyping, paraphrase, translation, OCR or a filter that drops
 * variation selectors (some sanitisers remove all default-ignorable characters) remove it; text
 * without spaces or CJK punctuation (code, long URLs) carries none; anyone holding the key can
 * strip or forge it.
 */

export const VS_BASE = 0xfe00;
const CLUSTER_CHARS = 3;
const SYMBOLS = 16;
const DATA_BYTES = 10;
const PARITY = SYMBOLS - DATA_BYTES;
const ID_BYTES = WATERMARK_ID_BYTES;
const MAC_BYTES = DATA_BYTES - ID_BYTES;
/** Minimum visible characters between two clusters: one per word keeps 200-character excerpts decodable. */
export const MIN_GAP = 1;

/** Characters after which a cluster may go: the space and CJK punctuation/ideographic space. */
const INSERT_POINT = /[ \u3000\u3001\u3002\uff0c\uff1b\uff1a\uff01\uff1f]/g;
const CLUSTER_RUN = /[\uFE00-\uFE0F]+/g;


const whitenCache = new Map<string, Uint8Array>();

function whitening(key: string): Uint8Array {
  let w = whitenCache.get(key);
  if (!w) {
    w = keyedBytes(key, 'text/v1/whiten', SYMBOLS);
    if (whitenCache.size > 64) whitenCache.clear();
    whitenCache.set(key, w);
  }
  return w;
}

const macOf = (key: string, id: Uint8Array) => keyedTag(key, 'text/v1/mac', id, MAC_BYTES);

function clusterFor(whiten: Uint8Array, index: number, byte: number): string {
  const bits = (index << 8) | (byte ^ whiten[index]!);
  let s = '';
  for (let k = CLUSTER_CHARS - 1; k >= 0; k--) s += String.fromCharCode(VS_BASE + ((bits >> (4 * k)) & 15));
  return s;
}

function clusterBits(run: string): number {
  let bits = 0;
  for (let k = 0; k < CLUSTER_CHARS; k++) bits = (bits << 4) | (run.charCodeAt(k) - VS_BASE);
  return bits;
}

/**
 * Stateful embedder: feed it the prose of a document in order (one call per eligible span); it
 * keeps the cluster cycle and spacing across calls, so a streamed file is marked as one text.
 */
export class TextWatermarkEmbedder {
  private readonly clusters: string[];
  private next = 0;
  private gap = 0;
  /** Clusters written so far. */
  inserted = 0;

  constructor(key: string, id: Uint8Array) {
    if (id.length !== ID_BYTES) throw new RangeError(`text watermark: id must be ${ID_BYTES} bytes`);
    const codeword = rsEncode(Uint8Array.from([...id, ...macOf(key, id)]), PARITY);
    const w = whitening(key);
    this.clusters = Array.from(codeword, (b, i) => clusterFor(w, i, b));
  }

  /** Marks one span of prose (any existing variation-selector clusters are replaced). */
  embed(span: string): string {
    const clean = removeClusters(span);
    const parts: string[] = [];
    let from = 0;
    let counted = 0;
    // Jump from insertion point to insertion point (a regex scan is ~5x faster than a loop over
    // every character); the gap only has to be counted up to MIN_GAP.
    INSERT_POINT.lastIndex = 0;
    for (let m = INSERT_POINT.exec(clean); m; m = INSERT_POINT.exec(clean)) {
      const at = m.index;
      this.countGap(clean, counted, at);
      counted = at + 1;
      if (this.gap >= MIN_GAP) {
        parts.push(clean.slice(from, at + 1), this.clusters[this.next]!);
        from = at + 1;
        this.next = (this.next + 1) % SYMBOLS;
        this.gap = 0;
        this.inserted++;
      } else {
        this.gap++;
      }
    }
    this.countGap(clean, counted, clean.length);
    if (from === 0) return clean;
    parts.push(clean.slice(from));
    return parts.join('');
  }

  /** Adds the visible characters of s[from, to) to the gap (line breaks and low surrogates do not count). */
  private countGap(s: string, from: number, to: number): void {
    for (let i = from; i < to && this.gap < MIN_GAP; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d && (c < 0xdc00 || c > 0xdfff)) this.gap++;
    }
  }
}

/** Removes every run of exactly three variation selectors (the shape of a cluster), keyless. */
function removeClusters(s: string): string {
  if (!/[\uFE00-\uFE0F]/.test(s)) return s;
  return s.replace(CLUSTER_RUN, (run) => (run.length === CLUSTER_CHARS ? '' : run));
}

export interface TextWatermarkDetection {
  /** The 64-bit id, hex. */
  payload: string;
  /** Clusters (runs of three variation selectors) seen. */
  clusters: number;
  /** Distinct codeword positions seen (10 of 16 are needed). */
  positions: number;
  /** Codeword bytes Reed-Solomon corrected (besides the positions it filled in). */
  corrected: number;
  /** Probability that text without this key's watermark decodes at all: the 16-bit MAC bounds it. */
  falsePositive: number;
  /** 1 - falsePositive. */
  confidence: number;
}

/**
 * Looks for the keyed watermark in `text`. Returns undefined unless the payload decodes and its
 * MAC matches: too short an excerpt, damage beyond what RS corrects, or another key's mark.
 */
export function detectTextWatermark(text: string, key: string): TextWatermarkDetection | undefined {
  return decodeClusters(clustersOf(text), key);
}

/** The detections under each key (keys without a mark are absent), from one pass over the text. */
export function detectTextWatermarkKeys(text: string, keys: readonly string[]): Map<string, TextWatermarkDetection> {
  const found = new Map<string, TextWatermarkDetection>();
  const clusters = keys.length ? clustersOf(text) : [];
  if (!clusters.length) return found;
  for (const key of keys) {
    const d = decodeClusters(clusters, key);
    if (d) found.set(key, d);
  }
  return found;
}

/** Each cluster's 12 bits (codeword index << 8 | whitened byte): reading them needs no key. */
function clustersOf(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(CLUSTER_RUN)) if (m[0].length === CLUSTER_CHARS) out.push(clusterBits(m[0]));
  return out;
}

function decodeClusters(clusterList: readonly number[], key: string): TextWatermarkDetection | undefined {
  const clusters = clusterList.length;
  if (clusters === 0) return undefined;
  const whiten = whitening(key);
  const votes = Array.from({ length: SYMBOLS }, () => new Map<number, number>());
  for (const bits of clusterList) {
    const index = bits >> 8;
    const v = votes[index]!;
    const b = (bits & 0xff) ^ whiten[index]!;
    v.set(b, (v.get(b) ?? 0) + 1);
  }
  const word = new Uint8Array(SYMBOLS);
  const erasures: number[] = [];
  votes.forEach((v, i) => {
    let best = -1;
    let count = 0;
    for (const [b, c] of v) if (c > count) [best, count] = [b, c];
    if (best < 0) erasures.push(i);
    else word[i] = best;
  });
  const positions = SYMBOLS - erasures.length;
  if (positions < DATA_BYTES) return undefined;
  const decoded = rsDecode(word, PARITY, erasures);
  if (!decoded) return undefined;
  const id = decoded.data.subarray(0, ID_BYTES);
  if (!Buffer.from(macOf(key, id)).equals(Buffer.from(decoded.data.subarray(ID_BYTES)))) return undefined;
  const corrected = decoded.corrected.filter((p) => !erasures.includes(p)).length;
  // The MAC passes by chance with 2^-16; each position beyond the 10 needed that RS did not have
  // to spend on a correction is one more byte a random word would have to match (2^-8).
  const surplus = Math.max(0, positions - DATA_BYTES - 2 * corrected);
  const falsePositive = 2 ** -(8 * MAC_BYTES + 8 * surplus);
  return { payload: Buffer.from(id).toString('hex'), clusters, positions, corrected, falsePositive, confidence: 1 - falsePositive };
}

/**
 * Removes the watermark. With the key, clusters are removed only if they decode to a payload with
 * that key (someone else's variation selectors stay); without it, every run of exactly three
 * variation selectors (the cluster shape) goes.
 */
export function stripTextWatermark(text: string, key?: string): { text: string; removed: number } {
  if (key !== undefined && !detectTextWatermark(text, key)) return { text, removed: 0 };
  let removed = 0;
  const out = text.replace(CLUSTER_RUN, (run) => {
    if (run.length !== CLUSTER_CHARS) return run;
    removed++;
    return '';
  });
  return { text: out, removed };
}
