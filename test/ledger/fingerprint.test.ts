import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { audioFingerprintOfPcm, AUDIO_RATE, bestAudioAlignment, indexAudio } from '../../src/ledger/fingerprint-audio.js';
import { hamming64, imageFingerprint } from '../../src/ledger/fingerprint-image.js';
import { normalisedTokens, textFingerprint } from '../../src/ledger/fingerprint-text.js';
import { AUDIO_MAX_BER, IMAGE_MAX_DISTANCE, TEXT_MAX_DISTANCE } from '../../src/ledger/index.js';
import { CORPUS, hasCorpus } from '../helpers.js';

/** Every still image of the corpus sharp decodes (HEIC aside), by folder. */
function corpusImages(): string[] {
  const out: string[] = [];
  for (const dir of ['images/natural', 'camera', 'generators']) {
    for (const f of readdirSync(join(CORPUS, dir))) if (/\.(png|jpe?g|webp)$/i.test(f)) out.push(join(CORPUS, dir, f));
  }
  return out;
}

describe.skipIf(!hasCorpus)('image fingerprint on the corpus', () => {
  it('JPEG q70 + 0.5x copies stay under the threshold; distinct images stay above it (no false match)', async () => {
    const hashes: bigint[] = [];
    const copyDistances: number[] = [];
    let noFingerprint = 0;
    for (const f of corpusImages()) {
      const h = await imageFingerprint(f);
      // 1x1 crops of generator files have no shape to hash: SHA-256 only.
      if (h === undefined) {
        noFingerprint++;
        continue;
      }
      hashes.push(h);
      const width = (await sharp(f).metadata()).width!;
      const copy = await sharp(f).rotate().resize(Math.round(width / 2)).jpeg({ quality: 70 }).toBuffer();
      copyDistances.push(hamming64(h, (await imageFingerprint(copy))!));
    }
    const distinct: number[] = [];
    for (let i = 0; i < hashes.length; i++) for (let j = i + 1; j < hashes.length; j++) distinct.push(hamming64(hashes[i]!, hashes[j]!));
    const falseMatches = distinct.filter((d) => d <= IMAGE_MAX_DISTANCE).length;
    console.log(
      `[ledger] image dct64 on ${hashes.length} corpus images (${noFingerprint} too small to hash): copies max ${Math.max(...copyDistances)} bits ` +
        `(${copyDistances.join(',')}); distinct pairs min ${Math.min(...distinct)}, median ${distinct.sort((a, b) => a - b)[distinct.length >> 1]}; ` +
        `false matches ${falseMatches}/${distinct.length} at <= ${IMAGE_MAX_DISTANCE}`,
    );
    expect(hashes.length).toBeGreaterThan(30);
    expect(Math.max(...copyDistances)).toBeLessThanOrEqual(IMAGE_MAX_DISTANCE);
    expect(falseMatches).toBe(0);
  });

  it('a 1x1 or flat picture has no fingerprint', async () => {
    expect(await imageFingerprint(await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer())).toBeUndefined();
    expect(await imageFingerprint(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#102030' } }).png().toBuffer())).toBeUndefined();
  });
});

const PROSE =
  'The river delta shifts every spring when the snowmelt arrives from the mountains. Farmers along the banks ' +
  'have learned to read the colour of the water, and they move their herds to higher ground long before the flood.';

describe('text fingerprint', () => {
  it('ignores case, whitespace, NFKC forms, variation selectors, markup and tamga disclosure lines', () => {
    const h = textFingerprint(PROSE)!;
    const withVs = PROSE.replace(/ /g, (s, at: number) => (at % 3 ? s : ' \uFE01\uFE0A\uFE03'));
    const variants = [
      PROSE.toUpperCase().replace(/ /g, '\n\n  '),
      withVs,
      // Fullwidth Latin letters fold to ASCII under NFKC.
      PROSE.replace('river', '\uFF52\uFF49\uFF56\uFF45\uFF52'),
      `<html><body><p class="tamga-ai-disclosure" data-tamga="start">AI-generated</p><p>${PROSE}</p></body></html>`,
      `Жасанды интеллект арқылы жасалған / Создано с помощью искусственного интеллекта\n\n${PROSE}\n\nGenerated with artificial intelligence`,
      `---\ntamga_content_id: "x"\n---\n${PROSE}`,
    ];
    for (const v of variants) expect(hamming64(textFingerprint(v)!, h)).toBe(0);
    expect(normalisedTokens(withVs)).toEqual(normalisedTokens(PROSE));
  });

  it('tells other texts apart and gives short texts no fingerprint', () => {
    const other = 'Interest rates rose again this quarter, and the price of bread in the capital followed them within weeks, economists said on Monday.';
    expect(hamming64(textFingerprint(other)!, textFingerprint(PROSE)!)).toBeGreaterThan(TEXT_MAX_DISTANCE);
    expect(textFingerprint('Just five short words.')).toBeUndefined();
    // Han characters are tokens of their own.
    expect(normalisedTokens('人工智能生成的内容')).toHaveLength(9);
  });
});

/** A deterministic "music-like" signal: two gliding partials with a tremolo, plus a seeded noise floor. */
function synth(seconds: number, f1: number, f2: number, noiseSeed = 1): Float32Array {
  const out = new Float32Array(seconds * AUDIO_RATE);
  let s = noiseSeed;
  for (let i = 0; i < out.length; i++) {
    const t = i / AUDIO_RATE;
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const noise = (s / 2 ** 32 - 0.5) * 0.05;
    out[i] = 0.4 * Math.sin(2 * Math.PI * (f1 + 150 * Math.sin(2 * Math.PI * 0.3 * t)) * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) + 0.2 * Math.sin(2 * Math.PI * (f2 + 300 * Math.sin(0.7 * 2 * Math.PI * t)) * t) + noise;
  }
  return out;
}

describe('audio fingerprint', () => {
  it('finds a shifted, noisier copy by alignment and rejects other audio', () => {
    const original = synth(8, 220, 800);
    const entry = indexAudio(audioFingerprintOfPcm(original));
    // 1.5 s cut from the start, gain change and more noise: what a trimmed re-encode does.
    const cut = original.subarray(Math.round(1.5 * AUDIO_RATE));
    const copy = cut.map((v, i) => 0.7 * v + (((i * 2654435761) >>> 0) / 2 ** 32 - 0.5) * 0.04);
    const m = bestAudioAlignment(audioFingerprintOfPcm(copy), entry)!;
    expect(m.offset).toBeGreaterThan(60); // 1.5 s = 64.6 hops of 128 samples
    expect(m.offset).toBeLessThan(70);
    expect(m.ber).toBeLessThan(AUDIO_MAX_BER);
    const other = bestAudioAlignment(audioFingerprintOfPcm(synth(8, 330, 1200, 3)), entry);
    expect(other === undefined || other.ber > AUDIO_MAX_BER).toBe(true);
  });
});
