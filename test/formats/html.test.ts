import { describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { readHtml } from '../../src/formats/html.js';
import { HTML_BADGE_CLASS } from '../../src/formats/text.js';
import { normalisedTokens } from '../../src/ledger/fingerprint-text.js';
import { readHtmlMeta } from '../../src/optout/html.js';
import { verify } from '../../src/verify/index.js';

const page = (head: string, body: string) => Buffer.from(`<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`);
const PROSE = '<p>The quarterly report lists revenue, costs and the outlook for next year in some detail.</p>';

describe('one HTML reader: hidden text is not visible, a commented-out tag is not an element', () => {
  it('visible text leaves out comments, script, style, template, head and attribute values; inline tags do not split words', () => {
    const r = readHtml(`<html><head><title>AI-generated</title><style>p:after{content:"AI-generated"}</style></head><body><!-- AI-generated --><script>var s = "AI-generated";</script><template>AI-generated</template><p title="AI-generated" data-x="AI-generated">Hello <b>wor</b>ld</p></body></html>`);
    expect(r.text).toBe('Hello world');
    expect(readHtml('<p>Made <b>with</b> <i>AI</i>-generated tools</p>').text).toBe('Made with AI-generated tools');
  });

  it('meta elements are only real ones: inside a comment or a script they are text', () => {
    const r = readHtml(`<head><!-- <meta name="ai-generated" content="true"> --><script>document.write('<meta name="ai-generated" content="true">')</script><meta name="ai-disclosure" content="Made &amp; labelled"></head>`);
    expect(r.metas.map((m) => [m.name, m.content])).toEqual([['ai-disclosure', 'Made & labelled']]);
    expect(readHtmlMeta(`<head><!-- <meta name="robots" content="noai"> --></head>`)).toEqual([]);
  });

  it('detect: a disclosure only inside a comment, a script or an attribute is no visible label; the same words as text are', async () => {
    for (const hidden of ['<!-- AI-generated content -->', '<script>const note = "AI-generated content";</script>', '<p title="AI-generated content">x</p>', '<style>.x:after{content:"AI-generated content"}</style>']) {
      const d = await detect(page('', hidden + PROSE));
      expect(d.findings.filter((f) => f.layer === 'visible'), hidden).toEqual([]);
    }
    const shown = await detect(page('', `<p>AI-generated content</p>${PROSE}`));
    expect(shown.findings.some((f) => f.kind === 'text:disclosure-line')).toBe(true);
  });

  it('a page whose only "AI-generated" is in a comment is not labelled under kz; a human page with a commented-out AI meta tag is not synthetic', async () => {
    // Machine-readable markers only (synthetic, not visibly disclosed), then the words in a comment.
    const marked = Buffer.from((await label(page('', PROSE), {}, { visible: false })).data!).toString('utf8');
    const commented = await verify(Buffer.from(marked.replace('<body>', '<body><!-- AI-generated -->')), { policy: 'kz' });
    expect(commented.verdict).toBe('partially-labelled');
    expect(commented.missing).toEqual(['visible']);
    const shown = await verify(Buffer.from(marked.replace('<body>', '<body><p>AI-generated</p>')), { policy: 'kz' });
    expect(shown.verdict).toBe('labelled');
    // The same page with tamga's meta markers commented out: a human page, no machine-readable label.
    const human = await verify(Buffer.from(marked.replace(/(?:<meta\b[^>]*>\s*)+/, (m) => `<!-- ${m} -->`)), { policy: 'kz' });
    expect(human.labels).toEqual([]);
    expect(human.verdict).toBe('not-synthetic');
    const real = await verify(Buffer.from(marked), { policy: 'kz' });
    expect(real.synthetic).not.toBeNull();
  });

  it("the badge class counts only on a real element; tamga's own label still reads back", async () => {
    const fake = await detect(page('', `<!-- <p class="${HTML_BADGE_CLASS}">x</p> -->${PROSE}`));
    expect(fake.findings.some((f) => f.kind === 'html:badge')).toBe(false);
    const r = await label(page('', PROSE), {}, { policy: 'kz' });
    const v = await verify(r.data!, { policy: 'kz' });
    expect(v.verdict).toBe('labelled');
    expect((await detect(r.data!)).findings.some((f) => f.kind === 'html:badge')).toBe(true);
  });

  it('ledger tokens: the visible words only, without the badge and hidden text', () => {
    const t = normalisedTokens(`<html><head><title>Title words</title></head><body><p class="${HTML_BADGE_CLASS}">Badge</p><!-- hidden words --><script>var x</script><p>Visible <b>wo</b>rds here</p></body></html>`);
    expect(t).toEqual(['visible', 'words', 'here']);
  });
});
