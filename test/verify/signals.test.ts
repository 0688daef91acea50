import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/types.js';
import { c2paDetector } from '../../src/verify/signals/c2pa.js';
import { matchGeneratorName } from '../../src/verify/signals/generator-strings.js';
import { verify } from '../../src/verify/index.js';
import type { SignalValue } from '../../src/verify/types.js';
import { corpusFile, hasCorpus } from '../helpers.js';
import { jpegWithComment, pngWithStealth, pngWithText } from './make.js';

const A1111 = 'a cat on a sofa\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: abc123, Model: sd_xl_base_1.0, Version: v1.6.0';

/** Evidence of one file, without the visible-badge pixel scan (these tests are about metadata signals). */
async function evidence(bytes: Uint8Array): Promise<Finding[]> {
  return (await verify(bytes, { visible: false })).evidence;
}
const kinds = (ev: Finding[]) => ev.map((e) => e.kind).sort();
const value = (ev: Finding[], kind: string) => ev.find((e) => e.kind === kind)?.value as SignalValue | undefined;

describe('generator parameter blocks (labelling-standards §8.1-8.5)', () => {
  it('AUTOMATIC1111 infotext in PNG parameters: strong, names the model and the UI', async () => {
    const ev = await evidence(await pngWithText([['parameters', A1111]]));
    expect(kinds(ev)).toEqual(['png:a1111-parameters']);
    expect(value(ev, 'png:a1111-parameters')).toEqual({ grade: 'strong', generator: 'AUTOMATIC1111', model: 'sd_xl_base_1.0', version: 'v1.6.0' });
    expect(ev[0]!.confidence).toBe(0.8);
    const forge = await evidence(await pngWithText([['parameters', A1111.replace('v1.6.0', 'f0.0.17v1.8.0rc')]]));
    expect(value(forge, 'png:a1111-parameters')?.generator).toBe('Forge');
  });

  it('a caption in a `parameters` chunk is not an infotext', async () => {
    expect(await evidence(await pngWithText([['parameters', 'holiday photo, Steps: none taken']]))).toEqual([]);
  });

  it('ComfyUI prompt and workflow graphs; plain JSON under those keys is not ComfyUI', async () => {
    const prompt = JSON.stringify({ '3': { class_type: 'KSampler', inputs: { seed: 1 } }, '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5.ckpt' } } });
    const workflow = JSON.stringify({ nodes: [{ id: 1, type: 'KSampler' }], links: [] });
    const ev = await evidence(await pngWithText([['prompt', prompt], ['workflow', workflow]]));
    expect(kinds(ev)).toEqual(['png:comfyui-prompt', 'png:comfyui-workflow']);
    expect(value(ev, 'png:comfyui-prompt')).toMatchObject({ generator: 'ComfyUI', nodes: 2, models: ['v1-5.ckpt'] });
    // EasyDiffusion also uses `prompt`, as plain text: its own keys identify it instead.
    const easy = await evidence(await pngWithText([['prompt', 'a red fox'], ['num_inference_steps', '25'], ['use_stable_diffusion_model', 'sd-v1-4']]));
    expect(kinds(easy)).toEqual(['png:easydiffusion-parameters']);
    expect(await evidence(await pngWithText([['prompt', '{"question": "what is this"}']]))).toEqual([]);
  });

  it('InvokeAI: invokeai_metadata, sd-metadata and Dream', async () => {
    const ev = await evidence(
      await pngWithText([
        ['invokeai_metadata', JSON.stringify({ generation_mode: 'txt2img', model: { model_name: 'sdxl-base' } })],
        ['sd-metadata', JSON.stringify({ app_id: 'invoke-ai/InvokeAI', app_version: '2.3.0', model_weights: 'deliberate' })],
        ['Dream', '"a castle" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms'],
      ]),
    );
    expect(kinds(ev)).toEqual(['png:invokeai-dream', 'png:invokeai-metadata', 'png:invokeai-sd-metadata']);
    expect(value(ev, 'png:invokeai-metadata')?.model).toBe('sdxl-base');
  });

  it('NovelAI: Software alone is weak, with its settings JSON strong', async () => {
    const settings = JSON.stringify({ steps: 28, sampler: 'k_euler', seed: 7, scale: 5, uc: 'lowres' });
    const strong = await evidence(await pngWithText([['Software', 'NovelAI'], ['Source', 'NovelAI Diffusion V4 4F49EC75'], ['Comment', settings]]));
    expect(value(strong, 'png:novelai-parameters')).toMatchObject({ grade: 'strong', generator: 'NovelAI', model: 'NovelAI Diffusion V4 4F49EC75' });
    const weak = await evidence(await pngWithText([['Software', 'NovelAI']]));
    expect(value(weak, 'png:novelai-software')).toEqual({ grade: 'weak', generator: 'NovelAI' });
  });

  it('Fooocus JSON in a JPEG comment', async () => {
    const ev = await evidence(await jpegWithComment(JSON.stringify({ base_model: 'juggernautXL', performance: 'Speed', styles: ['Fooocus V2'], version: 'Fooocus v2.5.0' })));
    expect(value(ev, 'jpeg:fooocus-parameters')).toMatchObject({ grade: 'strong', generator: 'Fooocus', model: 'juggernautXL' });
    expect(await evidence(await jpegWithComment('{"base_model": "x"}'))).toEqual([]);
  });

  it('Midjourney: the job id in Description; its flags only beside an Author', async () => {
    const job = await evidence(await pngWithText([['Description', 'a lighthouse --ar 16:9 --v 6 Job ID: 0d4c5e3a-1b2c-4d5e-8f90-123456789abc']]));
    expect(value(job, 'png:midjourney-description')).toEqual({ grade: 'strong', generator: 'Midjourney', jobId: '0d4c5e3a-1b2c-4d5e-8f90-123456789abc' });
    expect(kinds(await evidence(await pngWithText([['Description', 'a lighthouse --ar 16:9'], ['Author', 'someone']])))).toEqual(['png:midjourney-description']);
    expect(await evidence(await pngWithText([['Description', 'a lighthouse --ar 16:9']]))).toEqual([]);
  });
});

describe('NovelAI stealth metadata in alpha LSBs (§8.4)', () => {
  const novelai = JSON.stringify({ Software: 'NovelAI', Source: 'NovelAI Diffusion V3', Comment: JSON.stringify({ steps: 28, sampler: 'k_euler', seed: 1, uc: 'bad' }) });

  // The magic's 152 bits span 4 columns at height 40, one at height 400, 51 at height 3.
  it.each([
    [true, 48, 40],
    [false, 48, 40],
    [true, 20, 400],
    [true, 700, 3],
  ])('decodes compressed=%s payloads written column-major (%ix%i)', async (compressed, width, height) => {
    const ev = await evidence(await pngWithStealth(novelai, { compressed, width, height }));
    expect(value(ev, 'png:stealth-pnginfo')).toEqual({ grade: 'strong', generator: 'NovelAI', mode: 'alpha', compressed, model: 'NovelAI Diffusion V3' });
  });

  it('finds nothing when the alpha LSBs start like a magic but are not one', async () => {
    for (const magic of ['stealth_pngcomx', 'stealth_rgbcomp', 'sxxxxxxxxxxxxxx']) expect(await evidence(await pngWithStealth(novelai, { compressed: true, width: 48, height: 200, magic }))).toEqual([]);
  });

  it('finds nothing in random alpha, and does not decode images without alpha', async () => {
    expect(await evidence(await pngWithText([], { alpha: true }))).toEqual([]);
    expect(await evidence(await pngWithText([]))).toEqual([]);
  });

  it.skipIf(!hasCorpus)('reads the A1111 stealth-pnginfo corpus file (no text chunks at all)', async () => {
    const ev = await evidence(readFileSync(corpusFile('generators/automatic1111_stealth.png')));
    expect(value(ev, 'png:stealth-pnginfo')).toMatchObject({ grade: 'strong', generator: 'AUTOMATIC1111', mode: 'alpha', compressed: true });
  });
});

describe('generator strings (§8.11, weak)', () => {
  it('matches distinctive names, never bare words found in captions', () => {
    expect(matchGeneratorName('Made with Google AI')).toBe('Google AI');
    expect(matchGeneratorName('Adobe Firefly 3')).toBe('Adobe Firefly');
    expect(matchGeneratorName('DALL·E 3')).toBe('DALL-E');
    expect(matchGeneratorName('ComfyUI')).toBe('ComfyUI');
    for (const caption of ['Firefly', 'fireflies at dusk', 'Imagen', 'flux capacitor', 'GIMP 2.10', 'Adobe Photoshop 25.0', 'ideogram', 'Canon EOS 40D']) {
      expect(matchGeneratorName(caption), caption).toBeUndefined();
    }
  });

  it('reads PNG Software and grades it weak', async () => {
    const ev = await evidence(await pngWithText([['Software', 'Stable Diffusion XL']]));
    expect(ev).toEqual([{ layer: 'signal', kind: 'png:generator-string', value: { grade: 'weak', generator: 'Stable Diffusion', field: 'png:Software', text: 'Stable Diffusion XL' }, confidence: 0.4, where: expect.any(String) }]);
  });
});

describe('C2PA evidence (§8.6, §8.12)', () => {
  const manifest = (v: Record<string, unknown>): Finding[] => [{ layer: 'c2pa', kind: 'c2pa:manifest', value: v, confidence: 1, where: 'jpeg:APP11@2' }];
  const run = (v: Record<string, unknown>) => c2paDetector.detect({ findings: manifest(v), head: async () => new Uint8Array(), load: async () => new Uint8Array() }) as Finding[];

  it('an AI digitalSourceType in an intact, signed manifest is hard; with a rejected credential strong', () => {
    const dst = ['http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'];
    expect((run({ validationState: 'untrusted', digitalSourceTypes: dst, statusCodes: ['signingCredential.untrusted'] })[0]!.value as SignalValue).grade).toBe('hard');
    expect((run({ validationState: 'invalid', digitalSourceTypes: dst, statusCodes: ['signingCredential.expired'] })[0]!.value as SignalValue).grade).toBe('strong');
    expect(run({ validationState: 'valid', digitalSourceTypes: ['http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture'] })).toEqual([]);
    expect(run({ validationState: 'valid', digitalSourceTypes: ['http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia'] })).toEqual([]);
  });

  it('AI services named by the claim generator or signer', () => {
    expect(run({ validationState: 'untrusted', claimGenerator: 'ChatGPT c2pa-rs/0.28.4' })[0]).toMatchObject({ kind: 'c2pa:ai-claim-generator', value: { grade: 'strong', generator: 'OpenAI' } });
    expect(run({ validationState: 'untrusted', claimGenerator: 'Adobe_Photoshop/26.9.0', signer: { issuer: 'Adobe Inc.' } })).toEqual([]);
  });
});

describe.skipIf(!hasCorpus)('audio/video tags (§8.10, weak)', () => {
  /** The corpus MP3 with its ID3 tag replaced by ours (ID3v2.3 frames: 10-byte header, then the body). */
  function mp3WithId3(frames: [id: string, body: string][]): Buffer {
    const mp3 = readFileSync(corpusFile('c2pa/cicadas-unsigned.mp3'));
    const syncsafe = (o: number) => (mp3[o]! << 21) | (mp3[o + 1]! << 14) | (mp3[o + 2]! << 7) | mp3[o + 3]!;
    const body = Buffer.concat(
      frames.map(([id, text]) => {
        const h = Buffer.alloc(10);
        h.write(id, 0, 'latin1');
        h.writeUInt32BE(Buffer.byteLength(text, 'latin1'), 4);
        return Buffer.concat([h, Buffer.from(text, 'latin1')]);
      }),
    );
    const n = body.length;
    const head = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127]);
    return Buffer.concat([head, body, mp3.subarray(10 + syncsafe(6))]);
  }

  it('an AI system in TSSE and a comment declaring AI generation', async () => {
    const ev = await evidence(mp3WithId3([['TSSE', '\0Suno AI v3.5'], ['COMM', '\0eng\0This track is AI-generated']]));
    expect(ev.map((e) => [e.kind, (e.value as SignalValue).grade, (e.value as SignalValue).generator])).toEqual([
      ['id3:generator-string', 'weak', 'Suno'],
      ['id3:ai-declaration', 'weak', undefined],
    ]);
  });

  it('a negated or unrelated comment is no evidence', async () => {
    expect(await evidence(mp3WithId3([['COMM', '\0eng\0not AI-generated: recorded live'], ['TSSE', '\0LAME 3.100']]))).toEqual([]);
  });
});
