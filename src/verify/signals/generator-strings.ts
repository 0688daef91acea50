import type { Finding } from '../../core/types.js';
import { brief, signal, stringValues, textChunks, type SignalDetector } from './types.js';

/**
 * Names of AI image systems in the fields where software names itself (§8.11): EXIF Software,
 * Make, Model, Artist; XMP CreatorTool and photoshop:Credit; PNG Software/Source; comments.
 * Only multi-word or distinctive names: bare words such as "firefly", "imagen", "flux" or
 * "ideogram" occur in real captions and tool names. Weak evidence by itself (§8.12).
 */
export const AI_GENERATOR_NAMES: readonly (readonly [RegExp, string])[] = [
  [/\bmade with google ai\b/i, 'Google AI'],
  [/\bgoogle imagen\b/i, 'Google Imagen'],
  [/\bdall[-·‧ ]?e\b/i, 'DALL-E'],
  [/\bopenai\b/i, 'OpenAI'],
  [/\bchatgpt\b/i, 'ChatGPT'],
  [/\bmidjourney\b/i, 'Midjourney'],
  [/\bniji[ ・]?journey\b/i, 'Niji Journey'],
  [/\bstable[ _-]?diffusion\b/i, 'Stable Diffusion'],
  [/\bsdxl\b/i, 'SDXL'],
  [/\bcomfyui\b/i, 'ComfyUI'],
  [/\bautomatic1111\b|\bstable-diffusion-webui\b/i, 'AUTOMATIC1111'],
  [/\bnovelai\b/i, 'NovelAI'],
  [/\binvokeai\b/i, 'InvokeAI'],
  [/\bfooocus\b/i, 'Fooocus'],
  [/\badobe firefly\b/i, 'Adobe Firefly'],
  [/\bleonardo\.ai\b/i, 'Leonardo.Ai'],
  [/\bideogram\.ai\b/i, 'Ideogram'],
  [/\bblack forest labs\b/i, 'Black Forest Labs'],
  [/\bflux\.1\b/i, 'FLUX.1'],
  [/\brunwayml\b|\brunway ml\b/i, 'Runway'],
  [/\bbing image creator\b/i, 'Bing Image Creator'],
  [/\bmicrosoft designer\b/i, 'Microsoft Designer'],
  [/\bdreamstudio\b/i, 'DreamStudio'],
  [/\bplayground ?ai\b/i, 'Playground AI'],
  [/\bkrea\.ai\b/i, 'Krea'],
  [/\brecraft\.ai\b/i, 'Recraft'],
  [/\bnightcafe\b/i, 'NightCafe'],
  [/\bcraiyon\b/i, 'Craiyon'],
  [/\bimagined with ai\b|\bimagine with meta ai\b/i, 'Meta AI'],
  [/\bdiffusionbee\b/i, 'DiffusionBee'],
  [/\belevenlabs\b/i, 'ElevenLabs'],
  [/\bsuno(\.com| ai)\b|\bmade with suno\b/i, 'Suno'],
  [/\budio(\.com| ai)\b/i, 'Udio'],
];

export function matchGeneratorName(text: string): string | undefined {
  for (const [re, name] of AI_GENERATOR_NAMES) if (re.test(text)) return name;
  return undefined;
}

const FIELD_KINDS = ['exif:software', 'exif:make', 'exif:model', 'exif:artist', 'xmp:creator-tool', 'xmp:photoshop-credit'];
const PNG_KEYWORDS = ['Software', 'Source', 'comment'];

export const generatorStringsDetector: SignalDetector = {
  id: 'generator-strings',
  detect(ctx) {
    const out: Finding[] = [];
    const fields = [
      ...FIELD_KINDS.flatMap((kind) => stringValues(ctx.findings, kind).map((t) => ({ ...t, field: kind }))),
      ...PNG_KEYWORDS.flatMap((k) => textChunks(ctx.findings, k).map((t) => ({ ...t, field: `${ctx.format ?? 'png'}:${k}` }))),
    ];
    for (const f of fields) {
      // ComfyUI's EXIF Make/Model carry whole JSON graphs: the comfyui detector reads those.
      if (/^(workflow|prompt):\{/.test(f.text)) continue;
      const name = matchGeneratorName(f.text);
      if (name) out.push(signal(`${f.field.split(':')[0]}:generator-string`, 'weak', { generator: name, field: f.field, text: brief(f.text, 80) }, f.where));
    }
    return out;
  },
};
