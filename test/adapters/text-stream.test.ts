import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TEXT_FLAVOURS, TextLabeller, type TextFlavour, type TextLabelPlan } from '../../src/formats/text.js';
import { watermarkIdOf } from '../../src/watermark/payload.js';
import { TextWatermarkEmbedder } from '../../src/watermark/text.js';

const plan = (flavour: TextFlavour): TextLabelPlan => ({
  flavour,
  disclosure: 'Жасанды интеллект арқылы жасалған',
  position: 'both',
  markers: [{ name: 'ai-generated', content: 'true' }],
  watermark: new TextWatermarkEmbedder('stream-key-1234', watermarkIdOf('s')),
  jsonFields: ['content'],
  newline: '\n',
});

function run(flavour: TextFlavour, chunks: string[]): string {
  const l = new TextLabeller(plan(flavour));
  l.inspectHead(chunks.join('').slice(0, 65536));
  return chunks.map((c) => l.push(c)).join('') + l.end();
}

/** Pieces that exercise every state machine: tags, comments, code, cues, JSON strings, CJK, emoji, selectors. */
const piece = fc.constantFrom(
  ' ', '  ', '\n', '\r\n', 'word', 'слово', 'сөз', '中文，标点。', '😀', '\uFE0F', '\uFE00\uFE01\uFE02', '<p>', '</p>', '<script>', 'a < b', '</script>', '<!-- c -->',
  '<head>', '<body>', '</body>', '```', '`code here`', '---', '# Title', '    indented', '1', '00:00:01,000 --> 00:00:02,000', '00:01.000 --> 00:02.000', 'WEBVTT',
  'NOTE x', '{', '}', '[', ']', '"content"', ':', ',', '"text with spaces"', '\\"', '\\n', 'x="a > b"',
);

describe('text labeller streaming', () => {
  it('gives the same bytes however the input is cut into chunks, for every flavour', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TEXT_FLAVOURS), fc.array(piece, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 8 }), (flavour, pieces, cuts) => {
        const input = pieces.join('');
        const whole = run(flavour, [input]);
        const at = [...new Set(cuts.map((c) => Math.min(c, input.length)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const c of at) {
          chunks.push(input.slice(from, c));
          from = c;
        }
        chunks.push(input.slice(from));
        expect(run(flavour, chunks)).toBe(whole);
      }),
      { numRuns: 600 },
    );
  });

  it('JSON: the output parses, other values are untouched, the named strings get the lines', () => {
    const text = fc.string({ unit: 'binary', maxLength: 80 }).map((s) => s.replace(/[\uFE00-\uFE0F]/g, ''));
    fc.assert(
      fc.property(fc.array(fc.record({ content: text, other: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 4 }), fc.integer({ min: 1, max: 50 }), (items, step) => {
        const input = JSON.stringify({ choices: items.map((i) => ({ message: i })) }, null, step % 2 ? 2 : undefined);
        const chunks = input.match(new RegExp(`[\\s\\S]{1,${step}}`, 'g')) ?? [''];
        const parsed = JSON.parse(run('json', chunks)) as { choices: { message: { content: string; other: unknown } }[] };
        const d = 'Жасанды интеллект арқылы жасалған';
        parsed.choices.forEach((c, k) => {
          expect(c.message.other).toEqual(JSON.parse(JSON.stringify(items[k]!.other)));
          expect(c.message.content.replace(/[\uFE00-\uFE0F]{3}/g, '')).toBe(`${d}\n\n${items[k]!.content}\n\n${d}`);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('plain text: without the clusters the output is exactly line + text + line', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const input = pieces.join('').replace(/[\uFE00-\uFE0F]{3}/g, '');
        const out = run('plain', [input]).replace(/[\uFE00-\uFE0F]{3}/g, '');
        const d = 'Жасанды интеллект арқылы жасалған';
        const sep = input === '' || input.endsWith('\n') ? '' : '\n';
        expect(out).toBe(`${d}\n\n${input}${sep}\n${d}\n`);
      }),
      { numRuns: 300 },
    );
  });
});
