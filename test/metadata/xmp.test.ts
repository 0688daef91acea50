import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TamgaError } from '../../src/core/errors.js';
import { makeProvenance } from '../../src/core/provenance.js';
import { buildXmp, findingsFromXmp, getProperty, mergeXmp, NS, parseXmp, PLUS_VOCAB_BASE, readTamgaProvenance, tc260Fields, tc260Value, TRAINING_RESERVATION, valueText, type XmpLabel } from '../../src/metadata/xmp.js';
import { exiftoolJson, hasExiftool, tempDir } from '../helpers.js';

const provenance = makeProvenance({
  generator: { name: 'Stable Diffusion XL', version: '1.0' },
  provider: 'Example AI LLP',
  model: 'sdxl-base',
  humanContribution: 'prompt',
  jurisdictions: ['KZ', 'EU'],
  createdAt: '2026-11-23T10:00:00.000Z',
  contentId: '01936f2e-7c1a-7b3e-9a42-5f1d2c3b4a59',
});
const label: XmpLabel = {
  provenance,
  disclosure: {
    line: 'Жасанды интеллект арқылы жасалған / Создано с помощью искусственного интеллекта',
    texts: [
      { lang: 'kk', text: 'Жасанды интеллект арқылы жасалған' },
      { lang: 'ru', text: 'Создано с помощью искусственного интеллекта' },
    ],
  },
};
const TAM = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

function wrap(body: string, extraNs = ''): Buffer {
  return Buffer.from(
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Image::ExifTool 12.57"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"${extraNs}>${body}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`,
  );
}

const count = (p: ReturnType<typeof parseXmp>, uri: string, local: string) => p.properties.filter((x) => x.uri === uri && x.local === local).length;

describe('buildXmp', () => {
  it('writes the IPTC term URI, the TC260 AIGC JSON, a disclosure and every Provenance field', () => {
    const p = parseXmp(buildXmp(label));
    expect(valueText(getProperty(p, NS.Iptc4xmpExt, 'DigitalSourceType'))).toBe(TAM);
    expect(valueText(getProperty(p, NS.Iptc4xmpExt, 'AISystemUsed'))).toBe('Stable Diffusion XL');
    expect(valueText(getProperty(p, NS.Iptc4xmpExt, 'AISystemVersionUsed'))).toBe('1.0');
    const aigc = JSON.parse(valueText(getProperty(p, NS.TC260, 'AIGC'))!);
    expect(Object.keys(aigc)).toEqual(['Label', 'ContentProducer', 'ProduceID', 'ReservedCode1', 'ContentPropagator', 'PropagateID', 'ReservedCode2']);
    expect(aigc).toMatchObject({ Label: '1', ContentProducer: 'Example%20AI%20LLP', ProduceID: provenance.contentId });
    const desc = getProperty(p, NS.dc, 'description');
    expect(desc).toMatchObject({ type: 'array', container: 'Alt' });
    expect(desc?.type === 'array' && desc.items.map((i) => i.lang)).toEqual(['x-default', 'kk', 'ru']);
    expect(valueText(desc)).toBe(label.disclosure.line);
    expect(readTamgaProvenance(p)).toEqual(provenance);
  });

  it('starts with the xpacket header and ends with a writable trailer', () => {
    const s = buildXmp(label, { padding: 2048 }).toString();
    expect(s.startsWith('<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>')).toBe(true);
    expect(s.endsWith('<?xpacket end="w"?>')).toBe(true);
    expect(s.length).toBeGreaterThan(2048);
  });

  it('escapes XML-special characters in caller text', () => {
    const evil = makeProvenance({ provider: 'A & B <script>"x"</script>', generator: "O'Reilly/1" });
    const p = parseXmp(buildXmp({ provenance: evil, disclosure: { line: '<b>AI</b> & co', texts: [] } }));
    expect(readTamgaProvenance(p)?.provider).toBe('A & B <script>"x"</script>');
    expect(valueText(getProperty(p, NS.dc, 'description'))).toBe('<b>AI</b> & co');
  });
});

describe('TC260 values', () => {
  it('keeps printable ASCII and percent-encodes the rest, as Appendix E(j) asks', () => {
    expect(tc260Value('Qwen-2.5_x')).toBe('Qwen-2.5_x');
    expect(tc260Value('a"b\\c d%')).toBe('a%22b%5Cc%20d%25');
    expect(tc260Value('Қ')).toBe('%D2%9A');
    for (const v of Object.values(tc260Fields(makeProvenance({ provider: 'ТОО «Мысал» 人工智能' })))) {
      expect(v).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]*$/);
    }
  });
});

describe('parseXmp reads every serialisation of DigitalSourceType', () => {
  const ns = ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"';
  it.each([
    ['attribute', `<rdf:Description rdf:about=""${ns} Iptc4xmpExt:DigitalSourceType="${TAM}"/>`],
    ['element', `<rdf:Description rdf:about=""${ns}><Iptc4xmpExt:DigitalSourceType>${TAM}</Iptc4xmpExt:DigitalSourceType></rdf:Description>`],
    ['rdf:resource', `<rdf:Description rdf:about=""${ns}><Iptc4xmpExt:DigitalSourceType rdf:resource="${TAM}"/></rdf:Description>`],
    ['https URI', `<rdf:Description rdf:about=""${ns} Iptc4xmpExt:DigitalSourceType="https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>`],
    ['other prefix', `<rdf:Description rdf:about="" xmlns:ie="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" ie:DigitalSourceType="${TAM}"/>`],
  ])('%s', (_name, body) => {
    const f = findingsFromXmp(parseXmp(wrap(body)), 'test');
    expect(f).toContainEqual({ layer: 'metadata', kind: 'xmp:iptc-digital-source-type', value: { uri: TAM, term: 'trainedAlgorithmicMedia', class: 'ai-generated' }, confidence: 1, where: 'test' });
  });

  it('reads TC260 AIGC as attribute (XML-escaped) and with a mis-declared prefix', () => {
    const json = '{"Label":"1","ContentProducer":"001191110000802100433B","ProduceID":"abc"}';
    const attr = json.replace(/"/g, '&quot;');
    for (const body of [
      `<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="${attr}"/>`,
      `<rdf:Description rdf:about="" xmlns:C260="http://www.tc260.org.cn/ns/AIGC/1.0/"><C260:AIGC>${json}</C260:AIGC></rdf:Description>`,
    ]) {
      const f = findingsFromXmp(parseXmp(wrap(body)), 'w').find((x) => x.kind === 'xmp:tc260-aigc');
      expect(f?.value).toEqual({ Label: '1', ContentProducer: '001191110000802100433B', ProduceID: 'abc' });
    }
  });
});

describe('mergeXmp', () => {
  const existing = wrap(
    `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" photoshop:Credit="Jane Doe" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture">` +
      `<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>` +
      `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Sunset over Almaty</rdf:li><rdf:li xml:lang="de">Sonnenuntergang</rdf:li></rdf:Alt></dc:description>` +
      `<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:City>Almaty</Iptc4xmpExt:City></rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>` +
      `</rdf:Description><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"><xmp:Rating>5</xmp:Rating></rdf:Description>`,
  );

  it('keeps the other properties, replaces ours, and appends the disclosure to the caption', () => {
    const p = parseXmp(mergeXmp(existing, label));
    expect(valueText(getProperty(p, NS.photoshop, 'Credit'))).toBe('Jane Doe');
    expect(valueText(getProperty(p, NS.dc, 'creator'))).toBe('Jane Doe');
    expect(valueText(getProperty(p, NS.xmp, 'Rating'))).toBe('5');
    expect(getProperty(p, NS.Iptc4xmpExt, 'LocationShown')).toBeDefined();
    expect(count(p, NS.Iptc4xmpExt, 'DigitalSourceType')).toBe(1);
    expect(valueText(getProperty(p, NS.Iptc4xmpExt, 'DigitalSourceType'))).toBe(TAM);
    const desc = getProperty(p, NS.dc, 'description');
    expect(valueText(desc)).toBe(`Sunset over Almaty\n${label.disclosure.line}`);
    expect(desc?.type === 'array' && desc.items.find((i) => i.lang === 'de')?.value).toBe('Sonnenuntergang');
  });

  it('labelling twice gives one set of our properties and no repeated disclosure', () => {
    const once = mergeXmp(existing, label);
    const second = { ...label, provenance: { ...provenance, contentId: 'second-id' } };
    const p = parseXmp(mergeXmp(once, second));
    for (const local of ['contentId', 'createdAt', 'disclosure', 'generator']) expect(count(p, NS.tamga, local)).toBe(1);
    expect(count(p, NS.TC260, 'AIGC')).toBe(1);
    expect(count(p, NS.dc, 'description')).toBe(1);
    expect(valueText(getProperty(p, NS.dc, 'description'))).toBe(`Sunset over Almaty\n${label.disclosure.line}`);
    expect(readTamgaProvenance(p)?.contentId).toBe('second-id');
    expect(mergeXmp(mergeXmp(once, second), second).toString()).toBe(mergeXmp(once, second).toString());
  });

  it('replaces a disclosure written in other languages on relabel', () => {
    const en: XmpLabel = { provenance, disclosure: { line: 'AI-generated', texts: [{ lang: 'en', text: 'AI-generated' }] } };
    const p = parseXmp(mergeXmp(mergeXmp(existing, label), en));
    expect(valueText(getProperty(p, NS.dc, 'description'))).toBe('Sunset over Almaty\nAI-generated');
  });

  it('refuses a DOCTYPE (XXE, billion laughs) with UNSAFE_XML', () => {
    const xxe = Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&e;</rdf:RDF></x:xmpmeta>');
    const lol = Buffer.from('<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>');
    for (const bad of [xxe, lol]) {
      expect(() => mergeXmp(bad, label)).toThrow(TamgaError);
      try {
        parseXmp(bad);
        expect.unreachable();
      } catch (e) {
        expect((e as TamgaError).code).toBe('UNSAFE_XML');
      }
    }
  });

  it('refuses an undeclared entity and unbounded nesting', () => {
    expect(() => parseXmp(wrap('<rdf:Description>&ext;</rdf:Description>'))).toThrow(/malformed/);
    const deep = '<a:x xmlns:a="urn:a">'.repeat(200) + '</a:x>'.repeat(200);
    expect(() => parseXmp(wrap(`<rdf:Description rdf:about="">${deep}</rdf:Description>`))).toThrow(/deeper/);
  });

  it('a malformed existing packet is CORRUPT_INPUT, not rewritten', () => {
    try {
      mergeXmp(Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'), label);
      expect.unreachable();
    } catch (e) {
      expect((e as TamgaError).code).toBe('CORRUPT_INPUT');
    }
  });

  it('builds a fresh packet when the existing one is empty padding', () => {
    const p = parseXmp(mergeXmp(Buffer.from('   \n  '), label));
    expect(readTamgaProvenance(p)?.contentId).toBe(provenance.contentId);
  });
});

describe('plus:DataMining (training-data reservation, labelling-standards.md §9.2, §9.7)', () => {
  const reserving: XmpLabel = { ...label, dataMining: TRAINING_RESERVATION };
  const DMI = (code: string) => `${PLUS_VOCAB_BASE}${code}`;

  it('writes the vocabulary URI in our description only when asked, and reads it back as a finding', () => {
    const p = parseXmp(buildXmp(reserving));
    expect(valueText(getProperty(p, NS.plus, 'DataMining'))).toBe(DMI('DMI-PROHIBITED-AIMLTRAINING'));
    expect(findingsFromXmp(p, 'w', false)).toContainEqual({ layer: 'metadata', kind: 'xmp:plus-data-mining', value: { value: DMI('DMI-PROHIBITED-AIMLTRAINING') }, confidence: 1, where: 'w' });
    const plain = buildXmp(label).toString();
    expect(plain).not.toContain(NS.plus);
    expect(getProperty(parseXmp(buildXmp(label)), NS.plus, 'DataMining')).toBeUndefined();
  });

  it('reports plus:OtherConstraints with the value', () => {
    const p = parseXmp(wrap(`<rdf:Description rdf:about="" xmlns:plus="${NS.plus}" plus:DataMining="${DMI('DMI-PROHIBITED-SEECONSTRAINT')}"><plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">licence via ex.kz</rdf:li></rdf:Alt></plus:OtherConstraints></rdf:Description>`));
    expect(findingsFromXmp(p, 'w').find((f) => f.kind === 'xmp:plus-data-mining')?.value).toEqual({ value: DMI('DMI-PROHIBITED-SEECONSTRAINT'), otherConstraints: 'licence via ex.kz' });
  });

  it('relabelling never duplicates it, and replaces a value someone else wrote (attribute or element form)', () => {
    const twice = parseXmp(mergeXmp(mergeXmp(buildXmp(reserving), reserving), reserving));
    expect(count(twice, NS.plus, 'DataMining')).toBe(1);
    for (const foreign of [
      `<rdf:Description rdf:about="" xmlns:plus="${NS.plus}" plus:DataMining="${DMI('DMI-ALLOWED')}"/>`,
      `<rdf:Description rdf:about="" xmlns:plus="${NS.plus}"><plus:DataMining rdf:resource="${DMI('DMI-ALLOWED')}"/><plus:Licensee>kept</plus:Licensee></rdf:Description>`,
    ]) {
      const merged = parseXmp(mergeXmp(wrap(foreign), reserving));
      expect(count(merged, NS.plus, 'DataMining')).toBe(1);
      expect(valueText(getProperty(merged, NS.plus, 'DataMining'))).toBe(DMI('DMI-PROHIBITED-AIMLTRAINING'));
    }
    expect(valueText(getProperty(parseXmp(mergeXmp(wrap(`<rdf:Description rdf:about="" xmlns:plus="${NS.plus}"><plus:Licensee>kept</plus:Licensee></rdf:Description>`), reserving)), NS.plus, 'Licensee'))).toBe('kept');
  });

  it("labelling without a reservation keeps the rights holder's own plus:DataMining", () => {
    const theirs = wrap(`<rdf:Description rdf:about="" xmlns:plus="${NS.plus}" plus:DataMining="${DMI('DMI-PROHIBITED')}"/>`);
    const merged = parseXmp(mergeXmp(theirs, label));
    expect(valueText(getProperty(merged, NS.plus, 'DataMining'))).toBe(DMI('DMI-PROHIBITED'));
    expect(count(merged, NS.plus, 'DataMining')).toBe(1);
  });

  it.skipIf(!hasExiftool)('exiftool reads it as XMP-plus:DataMining', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'label.xmp');
      writeFileSync(file, mergeXmp(wrap(`<rdf:Description rdf:about="" xmlns:plus="${NS.plus}" plus:DataMining="${DMI('DMI-ALLOWED')}"/>`), reserving));
      const tags = exiftoolJson(file);
      expect(tags['XMP-plus:DataMining']).toBe(DMI('DMI-PROHIBITED-AIMLTRAINING'));
    } finally {
      cleanup();
    }
  });
});
