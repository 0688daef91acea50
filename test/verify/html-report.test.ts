import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyDefinition } from '../../src/core/policies/index.js';
import { fileSink } from '../../src/verify/reports/index.js';
import { escapeHtml, htmlReporter, jsonForScript } from '../../src/verify/reports/html.js';
import type { ScanSummary } from '../../src/verify/reports/types.js';
import { runScan } from '../../src/verify/run.js';
import { VERDICTS, type FileVerdict } from '../../src/verify/types.js';
import { corpusFile, hasCorpus, tempDir } from '../helpers.js';
import { pngWithText } from './make.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[tamga tests] ${CHROMIUM} not found: the HTML report browser test is SKIPPED (apt-get install chromium)`);

const HOSTILE_NAME = '<img src=x onerror=alert(1)>.png';
/** An A1111 infotext whose model name tries to close the script element and run its own. */
const HOSTILE_MODEL = '</script><img src=x onerror=alert(2)>';
const HOSTILE_INFOTEXT = `a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 8x8, Model: ${HOSTILE_MODEL}`;

const tmp = tempDir('tamga-html-');
afterAll(() => tmp.cleanup());
const root = join(tmp.dir, 'tree');
const reportPath = join(tmp.dir, 'report.html');
let summary: ScanSummary;
const verdicts: FileVerdict[] = [];

/** A tree of corpus files (natural, generator, C2PA images, audio, PDF), a text file, a broken PNG and the hostile file. */
beforeAll(async () => {
  if (!hasCorpus) return; // no test runs without it (describe.skipIf below); nothing to set up
  mkdirSync(join(root, 'gen'), { recursive: true });
  mkdirSync(join(root, 'c2pa'));
  copyFileSync(corpusFile('images/natural/kodim01.png'), join(root, 'kodim01.png'));
  for (const f of ['automatic1111_cropped.png', 'automatic1111_cropped.jpg', 'invokeai_dream1.png']) copyFileSync(corpusFile(`generators/${f}`), join(root, 'gen', f));
  for (const f of ['bing-creator-puppy.jpg', 'cards-tampered.jpg', 'cicadas-signed.mp3', 'adobe-express-genai.pdf']) copyFileSync(corpusFile(`c2pa/${f}`), join(root, 'c2pa', f));
  writeFileSync(join(root, 'notes.txt'), 'Quarterly notes, written by people.\n');
  writeFileSync(join(root, 'broken.png'), readFileSync(corpusFile('generators/fooocus1_cropped.png')).subarray(0, 100));
  writeFileSync(join(root, 'gen', HOSTILE_NAME), await pngWithText([['parameters', HOSTILE_INFOTEXT]]));
  const sink = await fileSink(reportPath);
  summary = await runScan([root], htmlReporter(sink), { visible: false, failOn: ['unlabelled'], onFile: (v) => verdicts.push(v) });
  await sink.commit();
}, 60_000);

describe.skipIf(!hasCorpus)('HTML report: the file', () => {
  it('is one self-contained document: no URL to fetch, every hostile string escaped', () => {
    const html = readFileSync(reportPath, 'utf8');
    expect(verdicts).toHaveLength(11);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    // Nothing the page could load: no src/href other than data: URIs, no http(s) URL in an attribute.
    expect(html).not.toMatch(/\s(?:src|href|action|srcset)="(?!data:)/);
    expect(html).not.toMatch(/url\(/);
    // The hostile name and evidence appear only escaped.
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain(HOSTILE_MODEL);
    expect(html).toContain(escapeHtml(HOSTILE_NAME));
    // The only script elements: the two JSON blobs and the page's own script at the end.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    // Rows stream in scan order, before the summary.
    const firstRow = html.indexOf('<tr data-verdict=');
    expect(firstRow).toBeGreaterThan(0);
    expect(firstRow).toBeLessThan(html.indexOf('id="summary-final"'));
  });

});

describe('HTML report: escaping', () => {
  it('escapes for HTML and for JSON inside a script element', () => {
    expect(escapeHtml(`<a href="x">'&'</a>\u0001`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\\x01');
    const json = jsonForScript({ s: '</script><!-- \u2028 & >' });
    expect(json).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(json)).toEqual({ s: '</script><!-- \u2028 & >' });
  });

  it('no string of a verdict reaches the page unescaped: path, evidence, generators, labels, problems, errors, roots', async () => {
    const evil = '"><img src=x onerror=alert(1)></script><script>alert(2)</script>';
    let html = '';
    const r = htmlReporter({ write: async (c) => void (html += c) }, { thumbnails: false });
    await r.begin({ policy: policyDefinition('kz'), roots: [evil], startedAt: evil, failOn: ['unlabelled'], version: evil });
    const base = { policy: 'kz' as const, requirements: [] };
    const evidence = [{ layer: 'signal' as const, kind: evil, value: { grade: 'strong', generator: evil, model: evil }, confidence: 0.8, where: evil }];
    const labels = [{ layer: 'watermark' as const, kind: 'watermark:tamga', value: { key: evil, id: evil }, confidence: 1, where: evil }];
    await r.file({ ...base, path: evil, verdict: 'unlabelled', kind: 'image', format: 'png', synthetic: { grade: 'strong', generators: [evil] }, missing: ['visible'], evidence, labels });
    await r.file({ ...base, path: evil, verdict: 'invalid', synthetic: null, missing: [], evidence: [], labels: [], problems: [evil] });
    await r.file({ ...base, path: evil, verdict: 'error', synthetic: null, missing: [], evidence: [], labels: [], error: { code: 'CORRUPT_INPUT', message: evil } });
    const counts = { labelled: 0, 'partially-labelled': 0, unlabelled: 1, 'not-synthetic': 0, invalid: 1, error: 1 };
    await r.end({ files: 3, verdicts: counts, resumed: 0, seconds: 1, filesPerSecond: 3, bytesRead: 0, bytesPerFile: 0, failOn: ['unlabelled'], failed: true });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('alert(2)</script>');
    expect(html).not.toContain('"><img');
    expect(html.match(/<script\b/g)).toHaveLength(3);
    // Escaped, the strings are all there: 3 paths, 1 root in the title + 1 in the summary, and every evidence/label field.
    expect(html.split(escapeHtml(evil)).length - 1).toBeGreaterThanOrEqual(14);
  });
});

const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!hasChromium || !hasCorpus)('HTML report in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  const attempted: string[] = [];
  const dialogs: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
    page = await browser.newPage();
    const pageUrl = pathToFileURL(reportPath).href;
    // No request may leave the page: everything but the report itself (and data: URIs) is aborted and recorded.
    await page.route('**', (route) => {
      const url = route.request().url();
      if (url === pageUrl || url.startsWith('data:')) return route.continue();
      attempted.push(url);
      return route.abort();
    });
    page.on('request', (r) => {
      const url = r.url();
      if (url !== pageUrl && !url.startsWith('data:')) attempted.push(url);
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    await page.goto(pageUrl, { waitUntil: 'load' });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Rows the browser actually lays out (a hidden row has no box). */
  const visibleRows = () =>
    page.$$eval('#files tbody tr', (rows) => rows.filter((r) => r.getClientRects().length > 0).map((r) => ({ verdict: (r as HTMLElement).dataset['verdict']!, kind: (r as HTMLElement).dataset['kind']!, path: r.querySelector('.path')!.textContent! })));

  it('shows the summary at the top with the counts of the scan', async () => {
    expect(await page.$eval('#summary', (s) => s.querySelector('#summary-final') !== null)).toBe(true);
    for (const v of VERDICTS) {
      const shown = await page.$eval(`#summary [data-summary-verdict="${v}"] td`, (td) => td.textContent);
      expect(Number(shown), v).toBe(summary.verdicts[v]);
      expect(summary.verdicts[v]).toBe(verdicts.filter((f) => f.verdict === v).length);
    }
    expect(await page.$eval('#summary-files', (e) => e.textContent)).toBe(String(verdicts.length));
    expect(await page.$eval('#summary', (s) => s.textContent)).toMatch(/failed: found unlabelled/);
    expect(JSON.parse(await page.$eval('#tamga-summary', (s) => s.textContent!))).toEqual(JSON.parse(JSON.stringify(summary)));
    // The filter labels count the rows.
    expect(await page.$eval('[data-count="verdict:unlabelled"]', (e) => e.textContent)).toBe(String(summary.verdicts.unlabelled));
    expect(await page.$eval('[data-count="kind:image"]', (e) => e.textContent)).toBe(String(verdicts.filter((v) => v.kind === 'image').length));
    expect(await page.locator('#shown').textContent()).toBe(`${verdicts.length} of ${verdicts.length} files shown`);
  });

  it('the verdict filter hides and shows the right rows', async () => {
    expect(await visibleRows()).toHaveLength(verdicts.length);
    const unlabelled = page.getByRole('checkbox', { name: /^unlabelled \(/ });
    await unlabelled.uncheck();
    const rows = await visibleRows();
    expect(rows).toHaveLength(verdicts.length - summary.verdicts.unlabelled);
    expect(rows.map((r) => r.verdict)).not.toContain('unlabelled');
    await page.getByRole('checkbox', { name: /^not-synthetic \(/ }).uncheck();
    expect((await visibleRows()).map((r) => r.verdict).sort()).toEqual(verdicts.map((v) => v.verdict).filter((v) => v !== 'unlabelled' && v !== 'not-synthetic').sort());
    await unlabelled.check();
    await page.getByRole('checkbox', { name: /^not-synthetic \(/ }).check();
    expect(await visibleRows()).toHaveLength(verdicts.length);
  });

  it('the media kind filter and the path filter work', async () => {
    for (const k of ['image', 'text', 'pdf', 'none']) await page.getByRole('checkbox', { name: new RegExp(`^${k} \\(`) }).uncheck();
    const rows = await visibleRows();
    expect(rows.map((r) => r.kind)).toEqual(['audio']);
    expect(rows[0]!.path).toMatch(/cicadas-signed\.mp3$/);
    for (const k of ['image', 'text', 'pdf', 'none']) await page.getByRole('checkbox', { name: new RegExp(`^${k} \\(`) }).check();
    await page.getByLabel('Path contains').fill('PUPPY');
    expect((await visibleRows()).map((r) => r.path)).toEqual([join(root, 'c2pa', 'bing-creator-puppy.jpg')]);
    await page.getByLabel('Path contains').fill('');
    expect(await visibleRows()).toHaveLength(verdicts.length);
  });

  it('renders a thumbnail for every readable image', async () => {
    const thumbs = await page.$$eval('#files tbody tr', (rows) =>
      rows.map((r) => {
        const img = r.querySelector('img');
        return { kind: (r as HTMLElement).dataset['kind'], path: r.querySelector('.path')!.textContent!, width: img ? img.naturalWidth : -1, src: img?.getAttribute('src') ?? '' };
      }),
    );
    const images = thumbs.filter((t) => t.kind === 'image');
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const t of images) {
      expect(t.width, t.path).toBeGreaterThan(0);
      expect(t.width).toBeLessThanOrEqual(96);
      expect(t.src.startsWith('data:image/webp;base64,')).toBe(true);
    }
    for (const t of thumbs.filter((t) => t.kind !== 'image')) expect(t.width, t.path).toBe(-1);
  });

  it('shows the hostile file name and evidence as text: no element injected, no dialog, nothing fetched, no CSP violation', async () => {
    const paths = await page.$$eval('#files tbody .path', (cells) => cells.map((c) => c.textContent));
    expect(paths).toContain(join(root, 'gen', HOSTILE_NAME));
    const row = page.locator('#files tbody tr', { hasText: HOSTILE_NAME });
    await row.locator('details').first().locator('summary').click();
    expect(await row.locator('details pre').first().textContent()).toContain(HOSTILE_MODEL);
    expect(await page.$$eval('img', (imgs) => imgs.filter((i) => i.getAttribute('src') === 'x').length)).toBe(0);
    expect(await page.$$eval('script', (s) => s.length)).toBe(3);
    expect(dialogs).toEqual([]);
    expect(attempted).toEqual([]);
    expect(problems).toEqual([]);
  });
});
