import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeProvenance } from '../../src/core/provenance.js';
import { parseXml, parseXmlStrictSubset, parseXmlWithSaxes, type XmlDocument } from '../../src/metadata/xml.js';
import { buildXmp, mergeXmp, type XmpLabel } from '../../src/metadata/xmp.js';
import { Rand } from '../fuzz/engine.js';
import { CORPUS, hasCorpus, ROOT } from '../helpers.js';

/** saxes' answer: the document, or the error message. */
function bySaxes(text: string): XmlDocument | string {
  try {
    return parseXmlWithSaxes(text);
  } catch (e) {
    return (e as Error).message;
  }
}

/** The strict reader's contract: when it answers, saxes gives the same document. Returns whether it answered. */
function expectAgreement(text: string): boolean {
  const fast = parseXmlStrictSubset(text);
  if (fast === undefined) return false;
  const saxes = bySaxes(text);
  if (!isDeepStrictEqual(fast, saxes)) expect({ text, fast }).toEqual({ text, fast: saxes });
  return true;
}

/** XMP packets found in files: the xpacket-wrapped ones and bare x:xmpmeta elements, decoded as UTF-8. */
function packetsIn(bytes: Buffer): string[] {
  const s = bytes.toString('latin1');
  const out: string[] = [];
  for (const [open, close] of [
    ['<?xpacket begin', '<?xpacket end'],
    ['<x:xmpmeta', '</x:xmpmeta>'],
  ] as const) {
    for (let at = s.indexOf(open); at >= 0; at = s.indexOf(open, at + 1)) {
      const end = s.indexOf(close, at);
      if (end < 0) break;
      const stop = close.startsWith('<?') ? s.indexOf('?>', end) + 2 : end + close.length;
      out.push(Buffer.from(s.slice(at, stop), 'latin1').toString('utf8'));
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const label = (contentId: string) => ({
  provenance: makeProvenance({ contentId, createdAt: '2026-01-01T00:00:00.000Z', generator: 'Kandinsky/3.1', provider: 'Example AI LLP' }),
  disclosure: { line: 'AI-generated <&> "quoted"', texts: [{ lang: 'en', text: 'AI-generated <&> "quoted"' }, { lang: 'kk', text: 'ЖИ жасаған' }] },
});

/** Packets from the corpus, the demo fixtures, and tamga's own writer (fresh and merged into each). */
function samplePackets(): string[] {
  const files = [...(hasCorpus ? filesUnder(CORPUS) : []), ...filesUnder(join(ROOT, 'fixtures'))].filter((f) => statSync(f).size < 32 * 1024 * 1024);
  const found = files.flatMap((f) => packetsIn(readFileSync(f)));
  const own = [Buffer.from(buildXmp(label('fresh'))).toString('utf8')];
  // Variants of tamga's own packet (every optional property, other source types, a reservation, padding), so
  // the agreement check has a real sample on a machine without the corpus too.
  const variants: XmpLabel[] = [
    { ...label('reserved'), dataMining: 'DMI-PROHIBITED-AIMLTRAINING' },
    { ...label('composite'), provenance: makeProvenance({ contentId: 'composite', createdAt: '2026-01-01T00:00:00.000Z', digitalSourceType: 'compositeWithTrainedAlgorithmicMedia', humanContribution: 'edited', jurisdictions: ['KZ', 'EU'], model: 'kandinsky-3.1' }) },
    { ...label('zh'), disclosure: { line: '人工智能生成', texts: [{ lang: 'zh', text: '人工智能生成' }, { lang: 'ru', text: 'Создано ИИ' }] } },
  ];
  for (const v of variants) own.push(Buffer.from(buildXmp(v)).toString('utf8'), Buffer.from(buildXmp(v, { padding: 512 })).toString('utf8'));
  own.push(Buffer.from(mergeXmp(buildXmp(variants[0]!), label('relabelled'))).toString('utf8'));
  for (const p of found.slice(0, 40)) {
    try {
      own.push(Buffer.from(mergeXmp(Buffer.from(p, 'utf8'), label('merged'))).toString('utf8'));
    } catch {
      // a packet mergeXmp refuses is still in `found`
    }
  }
  return [...new Set([...found, ...own])];
}

describe('parseXml: the strict subset reader agrees with saxes', () => {
  const packets = samplePackets();

  it('reads every XMP packet in the corpus and fixtures itself, with the tree saxes builds', () => {
    expect(packets.length).toBeGreaterThan(hasCorpus ? 20 : 5);
    const declined = packets.filter((p) => !expectAgreement(p));
    // Every packet here is well-formed XMP without CDATA, DOCTYPE, an XML declaration or non-ASCII names.
    expect(declined.map((p) => p.slice(0, 120))).toEqual([]);
  });

  it('agrees on hand-made edge cases, or leaves them to saxes', () => {
    const answered = [
      `<?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="A&#x9;B&#10;C\nD\tE"><r xmlns="urn:d" a='1'>t&amp;&#65;&#x1F600;</r></x:xmpmeta>\n<?xpacket end="w"?>`,
      `<?pi   body  ?><a/>`,
      `<?pi?><a/>`,
      `<a>\r\nx\ry</a>`,
      `<a b="x\r\ny"/>`,
      `<a>&#xD;</a>`,
      `<a><?pi x?>t<!-- c -->u</a>`,
      `<a></a >`,
      `<a/>  <!-- c -->  <?pi?>`,
      `<a b="&lt;&gt;&apos;&quot;"/>`,
      `<a xmlns="u"><b c="1" xmlns:p="v" p:d="2"><p:e xml:lang="kk"/></b></a>`,
      `<a b = "1"\n c\t=\t'2' />`,
      `<a:b xmlns:a="u" a:c="1"/>`,
    ];
    const declined = [
      `<?xml version="1.0"?><a/>`,
      `<a>x]]>y</a>`,
      `<a xmlns:p=""/>`,
      `<a xmlns:="u"/>`,
      `<a:b:c xmlns:a="u"/>`,
      `<a b="1" b="2"/>`,
      `<a p:b="1" q:b="2" xmlns:p="u" xmlns:q="u"/>`,
      `<a>&#0;</a>`,
      `<a>\u0001</a>`,
      `<a/>text`,
      `<a>&unknown;</a>`,
      `<a>&constructor;</a>`,
      `<a b="&toString;"/>`,
      `<a>&__proto__;</a>`,
      `<:a/>`,
      `<a b="1"c="2"/>`,
      `<a>\uFFFE</a>`,
      `<a>\uD800</a>`,
      `<a><![CDATA[x]]></a>`,
      `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`,
      `<a><!-- x -- y --></a>`,
      `<a></b>`,
      `<a>`,
      `<a/><b/>`,
      `<p:a/>`,
      `<é/>`,
      `<a b="<"/>`,
    ];
    for (const t of answered) expect(expectAgreement(t), t).toBe(true);
    for (const t of declined) expect(parseXmlStrictSubset(t), t).toBeUndefined();
  });

  it('keeps saxes errors and limits: parseXml still refuses what it refused', () => {
    expect(() => parseXml('<!DOCTYPE a><a/>')).toThrow(/DOCTYPE/);
    expect(() => parseXml('<a><b></a>')).toThrow(/malformed/);
    const deep = `${'<a>'.repeat(70)}${'</a>'.repeat(70)}`;
    expect(() => parseXml(deep)).toThrow(/deeper than 64/);
    expect(parseXmlStrictSubset(deep)).toBeUndefined();
    const wide = `<a>${'<b/>'.repeat(1000)}</a>`;
    expect(() => parseXml(wide, { maxDepth: 64, maxNodes: 500 })).toThrow(/more than 500 nodes/);
    expect(parseXmlStrictSubset(wide, { maxDepth: 64, maxNodes: 500 })).toBeUndefined();
  });

  it('agrees with saxes on thousands of mutants of real packets', () => {
    const r = new Rand(20261123);
    const pieces = ['<', '>', '&', ';', '"', "'", '=', '/', '?', '!', '-', ':', ' ', '\n', '\t', '\r', '#', ']', '&amp;', '&#x41;', '&#0;', '<!--', '-->', '<![CDATA[', ']]>', ' xmlns:a="u"', ' a:b="1"', ' b="1"', '</', '/>', '<a>', '</a>', 'xmlns', '\u0001', 'é', '<?', '?>'];
    let answered = 0;
    let total = 0;
    for (const packet of packets.slice(0, 25)) {
      for (let k = 0; k < 160; k++) {
        let t = packet;
        for (let edits = 1 + r.int(3); edits > 0; edits--) {
          const at = r.int(t.length + 1);
          const op = r.int(3);
          const piece = r.pick(pieces);
          t = op === 0 ? t.slice(0, at) + piece + t.slice(at) : op === 1 ? t.slice(0, at) + t.slice(at + 1 + r.int(8)) : t.slice(0, at) + piece + t.slice(at + piece.length);
        }
        total++;
        if (expectAgreement(t)) answered++;
      }
    }
    // Edits that land in text or in a value leave the document well-formed: the reader answers those (about a fifth).
    expect(answered).toBeGreaterThan(total / 10);
  });
});
