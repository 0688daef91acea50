import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watermarkIdOf } from '../../src/watermark/payload.js';
import { detectTextWatermark, stripTextWatermark, TextWatermarkEmbedder } from '../../src/watermark/text.js';
import { CORPUS, hasCorpus, ROOT } from '../helpers.js';
import { prose, seeded } from './prose.js';

const KEY = 'operator-secret-2026';
const ID = watermarkIdOf('019ab0c4-5f3e-7d21-9a6b-2c4d8e0f1a23');
const ID_HEX = Buffer.from(ID).toString('hex');
const mark = (text: string, key = KEY) => new TextWatermarkEmbedder(key, ID).embed(text);

describe('text watermark', () => {
  const labelled = mark(prose(20_000));

  it('carries the content id and changes nothing visible', () => {
    expect(detectTextWatermark(labelled, KEY)?.payload).toBe(ID_HEX);
    expect(labelled.replace(/[\uFE00-\uFE0F]/g, '')).toBe(prose(20_000));
  });

  it('is found in at least 99% of 200-character excerpts from random positions', () => {
    const chars = Array.from(labelled); // excerpts count code points of the labelled text, carriers included
    const rnd = seeded(42);
    const trials = 1000;
    let found = 0;
    for (let i = 0; i < trials; i++) {
      const at = rnd(chars.length - 200);
      const d = detectTextWatermark(chars.slice(at, at + 200).join(''), KEY);
      if (d) {
        expect(d.payload).toBe(ID_HEX);
        found++;
      }
    }
    expect(found / trials).toBeGreaterThanOrEqual(0.99);
  });

  it('survives NFC/NFD/NFKC/NFKD and whitespace normalisation', () => {
    for (const form of ['NFC', 'NFD', 'NFKC', 'NFKD'] as const) expect(detectTextWatermark(labelled.normalize(form), KEY)?.payload).toBe(ID_HEX);
    const collapsed = labelled.replace(/\s+/g, ' ').trim();
    expect(detectTextWatermark(collapsed, KEY)?.payload).toBe(ID_HEX);
    const trimmedLines = labelled.split('\n').map((l) => l.trim()).join('\r\n');
    expect(detectTextWatermark(trimmedLines, KEY)?.payload).toBe(ID_HEX);
  });

  it('survives lost and damaged clusters (Reed-Solomon + voting)', () => {
    const rnd = seeded(7);
    const excerpt = Array.from(labelled).slice(5000, 5600).join('');
    // Drop a third of the clusters and flip one selector in a fifth of the rest.
    const damaged = excerpt.replace(/[\uFE00-\uFE0F]{3}/g, (c) => {
      if (rnd(3) === 0) return '';
      if (rnd(5) === 0) return c.slice(0, 2) + String.fromCharCode(0xfe00 + rnd(16));
      return c;
    });
    expect(detectTextWatermark(damaged, KEY)?.payload).toBe(ID_HEX);
  });

  it('is not found with another key, and reports a tiny false-positive bound with the right one', () => {
    expect(detectTextWatermark(labelled, 'another-key-entirely')).toBeUndefined();
    const d = detectTextWatermark(labelled, KEY)!;
    expect(d.falsePositive).toBeLessThan(2 ** -16);
    expect(d.confidence).toBeGreaterThan(0.9999);
  });

  it('is stripped on request; with a wrong key nothing is removed', () => {
    expect(stripTextWatermark(labelled, 'another-key-entirely').removed).toBe(0);
    const s = stripTextWatermark(labelled, KEY);
    expect(s.removed).toBeGreaterThan(1000);
    expect(s.text).toBe(prose(20_000));
    expect(detectTextWatermark(s.text, KEY)).toBeUndefined();
    expect(stripTextWatermark(labelled).text).toBe(prose(20_000));
  });

  it('re-marking replaces the earlier mark instead of stacking a second one', () => {
    const other = new TextWatermarkEmbedder(KEY, watermarkIdOf('other')).embed(labelled);
    expect(detectTextWatermark(other, KEY)?.payload).toBe(Buffer.from(watermarkIdOf('other')).toString('hex'));
    expect(other.replace(/[\uFE00-\uFE0F]/g, '')).toBe(prose(20_000));
  });

  it('keeps emoji variation selectors of the input and never marks inside a word', () => {
    const text = 'I love this ❤️ and that ☺︎ very much indeed, said the reviewer of the new album.';
    const out = mark(text);
    expect(out).toContain('❤️');
    expect(out).toContain('☺︎');
    for (const m of out.matchAll(/[\uFE00-\uFE0F]{3}/g)) expect(out[m.index! - 1]).toBe(' ');
  });

  it('is never found in unlabelled text: the repository docs and every corpus file read as UTF-8', () => {
    const texts: string[] = [readFileSync(join(ROOT, 'README.md'), 'utf8'), prose(50_000, 99)];
    if (hasCorpus) {
      const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
      for (const f of walk(CORPUS)) texts.push(readFileSync(f).toString('utf8'));
      for (const f of walk(join(CORPUS, '..', 'docs'))) texts.push(readFileSync(f, 'utf8'));
    }
    for (const t of texts) expect(detectTextWatermark(t, KEY)).toBeUndefined();
  });
});
