import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import type { Finding } from '../../src/core/types.js';
import { textFlavourOf } from '../../src/formats/text.js';
import { watermarkIdOf } from '../../src/watermark/payload.js';
import { stripTextWatermark } from '../../src/watermark/text.js';
import { expectTamgaError, tempDir } from '../helpers.js';
import { prose } from '../watermark/prose.js';

const KEY = 'operator-secret-2026';
const CID = '019ab0c4-5f3e-7d21-9a6b-2c4d8e0f1a23';
const KK = 'Жасанды интеллект арқылы жасалған';
const RU = 'Создано с помощью искусственного интеллекта';
const { dir, cleanup } = tempDir('tamga-text-');
afterAll(cleanup);

const unmark = (s: string) => s.replace(/[\uFE00-\uFE0F]{3}/g, '');
const kinds = (f: Finding[]) => new Set(f.map((x) => x.kind));
const body = prose(3000, 5);

async function roundTrip(name: string, input: string, opts: Parameters<typeof label>[2] = {}) {
  const src = join(dir, name);
  const out = join(dir, `labelled-${name}`);
  writeFileSync(src, input);
  const r = await label(src, { contentId: CID }, { output: out, watermarkKey: KEY, textPosition: 'both', ...opts });
  const text = readFileSync(out, 'utf8');
  const d = await detect(out, { watermarkKey: KEY });
  return { r, text, findings: d.findings };
}

function expectWatermark(findings: Finding[], contentId?: string) {
  const w = findings.find((f) => f.kind === 'watermark:tamga-text');
  expect(w?.layer).toBe('watermark');
  expect((w?.value as { payload: string }).payload).toBe(Buffer.from(watermarkIdOf(CID)).toString('hex'));
  if (contentId) expect((w?.value as { contentId?: string }).contentId).toBe(contentId);
}

describe('text adapter round trips', () => {
  it('plain text: the disclosure line at start and end, watermark in the prose, nothing else changed', async () => {
    const { r, text, findings } = await roundTrip('answer.txt', body);
    expect(r.layers).toEqual(['visible', 'watermark']);
    expect(r.skipped?.map((s) => s.layer)).toEqual(['metadata']);
    expect(text.startsWith(`${KK} / ${RU}\n\n`)).toBe(true);
    expect(text.endsWith(`\n\n${KK} / ${RU}\n`)).toBe(true);
    expect(unmark(text)).toBe(`${KK} / ${RU}\n\n${body}\n\n${KK} / ${RU}\n`);
    const lines = findings.filter((f) => f.kind === 'text:disclosure-line').map((f) => f.value);
    expect(lines).toEqual(
      expect.arrayContaining([
        { text: RU, lang: 'ru', position: 'start' },
        { text: RU, lang: 'ru', position: 'end' },
        { text: KK, lang: 'kk', position: 'start' },
        { text: KK, lang: 'kk', position: 'end' },
      ]),
    );
    expectWatermark(findings);
  });

  it('Markdown: front matter merged, the line after it, code left alone', async () => {
    const md = `---\ntitle: Report\ntamga_content_id: "old"\n---\n# Summary\n\n${body}\n\n\`\`\`python\nx = a + b  # spaces here stay\n\`\`\`\n\nUse \`npm run build now\` to build it.\n`;
    const { r, text, findings } = await roundTrip('report.md', md);
    expect(r.layers).toEqual(['visible', 'watermark', 'metadata']);
    expect(text).toMatch(/^---\ntitle: Report\ntamga_ai_generated: "true"\n/);
    expect(text.match(/tamga_content_id/g)).toHaveLength(1);
    expect(unmark(text)).toContain(`---\n*${KK} / ${RU}*\n\n# Summary`);
    expect(text).toContain('```python\nx = a + b  # spaces here stay\n```');
    expect(text).toContain('`npm run build now`');
    const k = kinds(findings);
    for (const kind of ['markdown:front-matter', 'text:tamga', 'text:tc260-aigc', 'text:disclosure-line']) expect(k.has(kind)).toBe(true);
    expect(findings.find((f) => f.kind === 'text:tamga')?.value).toMatchObject({ contentId: CID, digitalSourceType: 'trainedAlgorithmicMedia' });
    expectWatermark(findings, CID);
  });

  it('HTML: meta markers in head, a visible badge after <body> and before </body>, scripts untouched', async () => {
    const html = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="ai-generated" content="false">\n<title>A page about things</title>\n</head>\n<body>\n<p>${body}</p>\n<script>if (a < b && c > d) { run(a, b); }</script>\n<pre>keep  this   as is</pre>\n</body>\n</html>\n`;
    const { r, text, findings } = await roundTrip('page.html', html);
    expect(r.layers).toEqual(['visible', 'watermark', 'metadata']);
    expect(text).toMatch(/<head>\n<meta name="ai-generated" content="true">/);
    expect(text).not.toContain('content="false"');
    expect(text).toMatch(/<body>\n<p class="tamga-ai-disclosure" data-tamga="start"[^>]*>Жасанды/);
    expect(text).toMatch(/<p class="tamga-ai-disclosure" data-tamga="end"[^>]*>[^<]*<\/p>\n<\/body>/);
    expect(text).toContain('<script>if (a < b && c > d) { run(a, b); }</script>');
    expect(text).toContain('<pre>keep  this   as is</pre>');
    expect(text).toContain('<title>A page about things</title>');
    const metas = findings.filter((f) => f.kind === 'html:meta').map((f) => (f.value as { name: string }).name);
    expect(metas).toEqual(expect.arrayContaining(['ai-generated', 'digital-source-type', 'ai-disclosure', 'tamga:content-id', 'AIGC']));
    expect(kinds(findings).has('html:badge')).toBe(true);
    expectWatermark(findings, CID);
    // What a reader copies from the rendered page: text nodes, tags gone, whitespace collapsed
    // (an innerText-style model, not a real browser), then pasted into a plain text file.
    const copied = text.replace(/<script[\s\S]*?<\/script>|<head[\s\S]*?<\/head>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    expect(copied).not.toContain('<');
    const pasted = await detect(Buffer.from(copied), { watermarkKey: KEY });
    expectWatermark(pasted.findings);
  });

  it('SRT: a first cue, cues renumbered, an end cue after the last one', async () => {
    const srt = `1\r\n00:00:01,000 --> 00:00:04,000\r\n${prose(300, 2)}\r\n\r\n2\r\n00:00:05,000 --> 00:00:09,250\r\n<i>${prose(400, 3)}</i>\r\n`;
    const { text, findings } = await roundTrip('film.srt', srt);
    const blocks = unmark(text).trim().split('\r\n\r\n');
    expect(blocks[0]).toBe(`1\r\n00:00:00,000 --> 00:00:05,000\r\n${KK} / ${RU}`);
    expect(blocks[1]!.startsWith('2\r\n00:00:01,000 --> 00:00:04,000\r\n')).toBe(true);
    expect(blocks[2]!.startsWith('3\r\n00:00:05,000 --> 00:00:09,250\r\n<i>')).toBe(true);
    expect(blocks[3]).toBe(`4\r\n00:00:09,250 --> 00:00:14,250\r\n${KK} / ${RU}`);
    expect(text).not.toMatch(/-->[^\r]*[\uFE00-\uFE0F]/);
    expectWatermark(findings);
  });

  it('WebVTT: the header kept, a first cue, NOTE blocks untouched', async () => {
    const vtt = `WEBVTT - lecture\n\nNOTE written by a person\n\n00:01.000 --> 00:04.000\n${prose(500, 4)}\n\nintro-2\n00:00:05.000 --> 00:00:08.000 align:start\n${prose(300, 6)}\n`;
    const { text, findings } = await roundTrip('lecture.vtt', vtt);
    expect(text.startsWith(`WEBVTT - lecture\n\ntamga-disclosure\n00:00:00.000 --> 00:00:05.000\n${KK} / ${RU}\n\nNOTE written by a person\n`)).toBe(true);
    expect(text).toContain('intro-2\n00:00:05.000 --> 00:00:08.000 align:start\n');
    expect(text).toMatch(/tamga-disclosure-end\n00:00:08\.000 --> 00:00:13\.000\n/);
    expectWatermark(findings);
  });

  it('JSON (an LLM API answer): only the named text field changes and the result parses', async () => {
    const answer = { id: 'chatcmpl-1', model: 'gpt-x', choices: [{ index: 0, message: { role: 'assistant', content: `${body}\n"quoted" \\ end` } }], usage: { total_tokens: 812 } };
    const { text, findings } = await roundTrip('answer.json', JSON.stringify(answer, null, 2));
    const parsed = JSON.parse(text) as typeof answer;
    expect(parsed.id).toBe('chatcmpl-1');
    expect(parsed.usage.total_tokens).toBe(812);
    expect(unmark(parsed.choices[0]!.message.content)).toBe(`${KK} / ${RU}\n\n${body}\n"quoted" \\ end\n\n${KK} / ${RU}`);
    expectWatermark(findings);
    await expectTamgaError(label(Buffer.from('{"a": "b c d"}'), {}, { jsonFields: ['content'] }), 'INVALID_OPTION', /no string value/);
  });

  it('without a key: no watermark (none was asked for); --no-visible with no carrier is refused', async () => {
    const r = await label(Buffer.from(body), {}, { lang: ['en'] });
    expect(r.layers).toEqual(['visible']);
    expect(r.skipped).toEqual([{ layer: 'metadata', reason: expect.stringMatching(/no metadata carrier/) }]);
    expect(Buffer.from(r.data!).toString('utf8')).toBe(`Generated with artificial intelligence\n\n${body}`);
    await expectTamgaError(label(Buffer.from(body), {}, { visible: false }), 'INVALID_OPTION');
    await expectTamgaError(label(Buffer.from(body), {}, { watermarkKey: 'short' }), 'INVALID_OPTION', /watermarkKey/);
  });

  it('finds third-party disclosures and meta markers in unlabelled files, and nothing in plain prose', async () => {
    const third = `<html><head><meta name="ai-disclosure" content="Made by a model"></head><body><p>Этот текст подготовлен с использованием искусственного интеллекта.</p></body></html>`;
    const d = await detect(Buffer.from(third));
    expect(kinds(d.findings).has('html:meta')).toBe(true);
    expect(d.findings.find((f) => f.kind === 'text:disclosure-line')?.value).toMatchObject({ lang: 'ru' });
    const plain = await detect(Buffer.from(body), { watermarkKey: KEY });
    expect(plain.findings).toEqual([]);
    const zw = await detect(Buffer.from('Hello\u200bworld and\u202fmore'));
    expect(zw.findings.find((f) => f.kind === 'text:invisible-characters')?.value).toEqual({ 'ZERO WIDTH SPACE': 1, 'NARROW NO-BREAK SPACE': 1 });
  });

  it('rejects invalid UTF-8 instead of mangling it', async () => {
    const bad = Buffer.concat([Buffer.from(prose(70_000)), Buffer.from([0xc3, 0x28]), Buffer.from(' tail text')]);
    await expectTamgaError(label(bad, {}, {}), 'CORRUPT_INPUT', /UTF-8/);
  });

  it('streams a large file through a bounded temp file and gives the same bytes as the in-memory path', async () => {
    const big = prose(17 << 20, 11); // above the 16 MiB in-memory limit
    const src = join(dir, 'big.txt');
    writeFileSync(src, big);
    const out = join(dir, 'big-labelled.txt');
    await label(src, { contentId: CID }, { output: out, watermarkKey: KEY, textPosition: 'both', lang: ['en'] });
    const small = await label(Buffer.from(big.slice(0, 1 << 20)), { contentId: CID }, { watermarkKey: KEY, textPosition: 'start', lang: ['en'] });
    const head = readFileSync(out).subarray(0, small.data!.length - 64);
    expect(Buffer.from(small.data!).subarray(0, head.length).equals(head)).toBe(true);
    const labelled = readFileSync(out, 'utf8');
    expect(stripTextWatermark(labelled).text).toBe(`Generated with artificial intelligence\n\n${big}\n\nGenerated with artificial intelligence\n`);
    const d = await detect(out, { watermarkKey: KEY });
    expect(d.findings.filter((f) => f.kind === 'text:disclosure-line').map((f) => (f.value as { position: string }).position).sort()).toEqual(['end', 'start']);
    expectWatermark(d.findings);
  }, 60_000);

  it('relabelling keeps one disclosure and one set of markers (plain text, Markdown, HTML)', async () => {
    const html = '<!doctype html>\n<html><head><title>t</title></head>\n<body><p>Hello there, world.</p></body></html>\n';
    for (const [name, input] of [['again.txt', body.slice(0, 400)], ['again.md', `# Title\n\n${body.slice(0, 300)}\n`], ['again.html', html]] as const) {
      let src = join(dir, name);
      writeFileSync(src, input);
      const shapes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const out = join(dir, `${i}-${name}`);
        await label(src, {}, { output: out, watermarkKey: KEY, textPosition: 'both' });
        // The content id and time change per run; the rest must not grow.
        shapes.push(unmark(readFileSync(out, 'utf8')).replace(/(content|created-at|created_at|contentId|content_id|AIGC)[^\n]*/g, ''));
        src = out;
      }
      expect(shapes[1], name).toBe(shapes[0]);
      expect(shapes[2], name).toBe(shapes[0]);
      // Start and end lines (badges in HTML); Markdown also states it in its front matter.
      expect(shapes[0]!.split(RU).length - 1, name).toBe(name.endsWith('.md') ? 3 : 2);
    }
  });

  it('names flavours from content when there is no file name', () => {
    expect(textFlavourOf('WEBVTT\n\n00:01.000 --> 00:02.000\nhi')).toBe('vtt');
    expect(textFlavourOf('1\n00:00:01,000 --> 00:00:02,000\nhi')).toBe('srt');
    expect(textFlavourOf('<!doctype html><html>')).toBe('html');
    expect(textFlavourOf('{"choices": []}')).toBe('json');
    expect(textFlavourOf('# Title\n\ntext')).toBe('markdown');
    expect(textFlavourOf('Just words.')).toBe('plain');
  });
});
