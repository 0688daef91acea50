import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AI_TRAINING_AGENTS, DatasetPolicy, matchesPathPattern, urlPathBelow } from '../../src/optout/dataset.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir('tamga-optout-ds-');
afterAll(() => tmp.cleanup());
let n = 0;

/** A fresh dataset root with the given files (path -> contents). */
function dataset(files: Record<string, string>): string {
  const root = join(tmp.dir, `ds${n++}`);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe('matchesPathPattern (robots.txt / TDMRep location syntax)', () => {
  it.each([
    ['/', '/a/b.jpg', true],
    ['/private/', '/private/x.png', true],
    ['/private/', '/privately.png', false],
    ['/private/*', '/private/a/b/c.png', true],
    ['/*.jpg', '/a/b.jpg', true],
    ['/*.jpg$', '/a/b.jpg', true],
    ['/*.jpg$', '/a/b.jpg.txt', false],
    ['/a/*/c', '/a/x/y/c', true],
    ['/a/*/c', '/a/c', false],
    ['/photos$', '/photos', true],
    ['/photos$', '/photos/1.jpg', false],
    ['*', '/anything', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(matchesPathPattern(pattern, path)).toBe(expected);
  });

  it('is not exponential on many wildcards', () => {
    expect(matchesPathPattern('/' + '*a'.repeat(200) + 'b$', '/' + 'a'.repeat(5000))).toBe(false);
  });
});

describe('DatasetPolicy', () => {
  it('tdmrep.json reserves a subtree and leaves the rest as its other rules say', () => {
    const root = dataset({
      'tdmrep.json': JSON.stringify([
        { location: '/', 'tdm-reservation': 0 },
        { location: '/licensed/*', 'tdm-reservation': 1, 'tdm-policy': 'https://ex.kz/policy.json' },
      ]),
    });
    const p = new DatasetPolicy(root);
    expect(p.present).toBe(true);
    const open = p.signalsFor(join(root, 'free', 'a.jpg'), 'genai-training');
    expect(open.map((s) => [s.source, s.verdict])).toEqual([['tdmrep:json', 'allowed']]);
    const reserved = p.signalsFor(join(root, 'licensed', 'deep', 'b.jpg'), 'genai-training');
    // Both rules match; both are reported, and the reservation carries its policy.
    expect(reserved.map((s) => s.verdict)).toEqual(['allowed', 'reserved']);
    expect(reserved[1]).toMatchObject({ policy: 'https://ex.kz/policy.json', where: expect.stringContaining('tdmrep.json[1]') });
    expect(p.isPolicyFile(join(root, 'tdmrep.json'))).toBe(true);
  });

  it('reads .well-known/tdmrep.json; a malformed file is a note and decides nothing (TDMRep: unset)', () => {
    const wk = dataset({ '.well-known/tdmrep.json': '[{"location":"/","tdm-reservation":1}]' });
    expect(new DatasetPolicy(wk).signalsFor(join(wk, 'x.png'), 'tdm').map((s) => s.verdict)).toEqual(['reserved']);
    const bad = dataset({ 'tdmrep.json': '{"location":' });
    const p = new DatasetPolicy(bad);
    expect(p.signalsFor(join(bad, 'x.png'), 'tdm')).toEqual([]);
    expect(p.notes.join()).toMatch(/not valid JSON/);
    const wrongRule = dataset({ 'tdmrep.json': '[{"location":"/"}, 5, {"location":"/a","tdm-reservation":1}]' });
    const q = new DatasetPolicy(wrongRule);
    expect(q.signalsFor(join(wrongRule, 'a', 'x.png'), 'tdm').map((s) => s.verdict)).toEqual(['reserved']);
    expect(q.notes).toHaveLength(2);
  });

  it('robots.txt: a Disallow for an AI training agent (or for * ) reserves; a plain Allow is not a licence', () => {
    const root = dataset({ 'robots.txt': 'User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /art/\n\nUser-agent: *\nAllow: /\n' });
    const p = new DatasetPolicy(root);
    const art = p.signalsFor(join(root, 'art', 'a.png'), 'genai-training');
    expect(art).toHaveLength(1);
    expect(art[0]).toMatchObject({ source: 'robots.txt', verdict: 'reserved', value: 'Disallow /art/a.png for GPTBot, CCBot' });
    expect(art[0]!.where).toMatch(/robots\.txt:3$/);
    expect(p.signalsFor(join(root, 'news', 'a.png'), 'genai-training')).toEqual([]);
    const all = dataset({ 'robots.txt': 'User-agent: *\nDisallow: /\n' });
    const s = new DatasetPolicy(all).signalsFor(join(all, 'x.jpg'), 'genai-training');
    expect(s[0]!.value).toBe('Disallow /x.jpg for all AI training user agents');
    expect(AI_TRAINING_AGENTS).toContain('Google-Extended');
  });

  it('robots.txt Content-Usage lines (aipref): the most specific path wins', () => {
    const root = dataset({ 'robots.txt': 'User-agent: *\nAllow: /\nContent-Usage: train-ai=y\nContent-Usage: /photos/ train-genai=n\n' });
    const p = new DatasetPolicy(root);
    expect(p.signalsFor(join(root, 'photos', 'a.jpg'), 'genai-training').map((s) => [s.source, s.value, s.verdict])).toEqual([['aipref:content-usage', 'train-genai=n', 'reserved']]);
    expect(p.signalsFor(join(root, 'docs', 'a.txt'), 'genai-training').map((s) => s.verdict)).toEqual(['allowed']);
  });

  it('ai.txt (Spawning): file-type patterns and a site-wide Disallow', () => {
    const root = dataset({ 'ai.txt': '# Spawning AI\nUser-Agent: *\nDisallow: *.jpg\nDisallow: *.png\nAllow: *.txt\n' });
    const p = new DatasetPolicy(root);
    expect(p.signalsFor(join(root, 'a', 'b.jpg'), 'genai-training').map((s) => [s.source, s.verdict])).toEqual([['ai.txt', 'reserved']]);
    expect(p.signalsFor(join(root, 'a', 'b.txt'), 'genai-training')).toEqual([]);
  });

  it('maps file paths to URL paths with percent-encoding', () => {
    expect(urlPathBelow('/d', '/d/a b/ç.jpg')).toBe('/a%20b/%C3%A7.jpg');
  });

  it('a root without policy files yields nothing', () => {
    const root = dataset({ 'a.txt': 'x' });
    const p = new DatasetPolicy(root);
    expect(p.present).toBe(false);
    expect(p.signalsFor(join(root, 'a.txt'), 'genai-training')).toEqual([]);
  });
});
