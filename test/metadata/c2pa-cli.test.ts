import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remuxBmff, pcmWav } from '../../fixtures/make-c2pa-media.js';
import { corpusFile, exiftoolJson, hasCorpus, hasExiftool, ROOT, TAM_URI, tempDir, runTamga } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const SAMPLE = join(ROOT, 'fixtures', 'demo', 'sample.png');

const tamga = (...args: string[]) => runTamga(tmp.dir, ...args);

describe('tamga keygen / label --c2pa / detect --trust-anchors', () => {
  it('keygen writes a development chain that signs, and its root makes the manifest valid', () => {
    const keys = join(tmp.dir, 'keys');
    const k = tamga('keygen', '--out', keys, '--json');
    expect(k.code, k.stderr).toBe(0);
    const paths = JSON.parse(k.stdout) as { chainPem: string; keyPem: string; rootPem: string; trusted: boolean };
    expect(paths.trusted).toBe(false);
    expect(readFileSync(paths.chainPem, 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(statSync(paths.keyPem).mode & 0o777).toBe(0o600);
    expect(tamga('keygen', '--out', keys).code).toBe(4);

    const out = join(tmp.dir, 'signed.png');
    const l = tamga('label', SAMPLE, '-o', out, '--no-visible', '--c2pa', '--c2pa-cert', paths.chainPem, '--c2pa-key', paths.keyPem, '--reserve-training', '--json');
    expect(l.code, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout).layers).toEqual(['metadata', 'c2pa']);

    const manifestOf = (args: string[]) => {
      const d = tamga('detect', out, '--json', ...args);
      expect(d.code, d.stderr).toBe(0);
      return (JSON.parse(d.stdout) as { findings: { kind: string; value: Record<string, unknown> }[] }[])[0]!.findings.find((f) => f.kind === 'c2pa:manifest')!.value;
    };
    expect(manifestOf(['--trust-anchors', paths.rootPem])).toMatchObject({
      validationState: 'valid',
      digitalSourceTypes: [TAM_URI],
      trainingMining: { 'cawg.ai_generative_training': { use: 'notAllowed' } },
      // A new process reads its first file with c2pa-rs (nothing learned yet), and says so.
      validatedBy: 'c2pa-rs',
    });
    expect(manifestOf([])).toMatchObject({ validationState: 'untrusted', statusCodes: ['signingCredential.untrusted'] });

    // One changed byte after signing: invalid, with the hash mismatch listed.
    const bytes = readFileSync(out);
    bytes[bytes.length - 20]! ^= 0x01;
    writeFileSync(out, bytes);
    expect(manifestOf(['--trust-anchors', paths.rootPem])).toMatchObject({ validationState: 'invalid', statusCodes: expect.arrayContaining([expect.stringMatching(/mismatch/)]) });
  });

  it('usage errors: --c2pa without a key, a missing trust-anchor file', () => {
    expect(tamga('label', SAMPLE, '-o', join(tmp.dir, 'x.png'), '--c2pa', '--c2pa-cert', 'chain.pem').code).toBe(2);
    const d = tamga('detect', SAMPLE, '--trust-anchors', join(tmp.dir, 'nope.pem'), '--json');
    expect(d.code).toBe(2);
    expect(JSON.parse(d.stdout).error.code).toBe('INVALID_OPTION');
  });
});

describe.skipIf(!hasCorpus || !hasExiftool)('media made for the C2PA tests are the real formats exiftool reads', () => {
  it('remuxBmff: M4A (audio only) and a 61 s MP4 with both tracks; pcmWav', () => {
    const clip = readFileSync(corpusFile('c2pa/video1-signed.mp4'));
    const m4a = join(tmp.dir, 'a.m4a');
    writeFileSync(m4a, remuxBmff(clip, { handler: 'soun', brands: ['M4A ', 'M4A ', 'mp42', 'isom'] }));
    const a = exiftoolJson(m4a, ['-n']);
    expect(a).toMatchObject({ 'File:FileType': 'M4A', 'Track1:AudioFormat': 'mp4a', 'Track1:AudioSampleRate': 48000 });
    expect(a['Track1:CompressorID']).toBeUndefined();
    expect(Object.keys(a).some((k) => k.startsWith('Track2:'))).toBe(false);
    expect(a['QuickTime:Duration']).toBeCloseTo(2.03, 1);
    const long = join(tmp.dir, 'long.mp4');
    writeFileSync(long, remuxBmff(clip, { loops: 30 }));
    const v = exiftoolJson(long, ['-n']);
    expect(v).toMatchObject({ 'File:FileType': 'MP4', 'Track1:CompressorID': 'avc1', 'Track2:AudioFormat': 'mp4a' });
    expect(v['QuickTime:Duration']).toBeCloseTo(61, 0);
    const wav = join(tmp.dir, 't.wav');
    writeFileSync(wav, pcmWav(0.5, 16000));
    expect(exiftoolJson(wav, ['-n'])).toMatchObject({ 'File:FileType': 'WAV', 'RIFF:SampleRate': 16000, 'RIFF:NumChannels': 1 });
  });
});
