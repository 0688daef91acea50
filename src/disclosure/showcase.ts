import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detect, label, resolveLabelOptions } from '../api.js';
import type { LabelOptions } from '../core/types.js';

/** ../shared/corpus beside the checkout (src/disclosure and dist/disclosure are two levels down). */
const NATURAL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'corpus', 'images', 'natural');

/** Three photos with different light: a bright outdoor scene, a dark one, and a close-up. */
const PAIRS: readonly { photo: string; opts: LabelOptions }[] = [
  { photo: 'kodim05.png', opts: { policy: 'kz' } },
  { photo: 'kodim01.png', opts: { policy: 'kz', lang: ['kk', 'ru', 'en'], position: 'bottom-left' } },
  { photo: 'kodim23.png', opts: { policy: 'cn', position: 'top' } },
];

export interface BadgePair {
  photo: string;
  before: string;
  after: string;
  langs: string[];
  position: string;
  /** detect() found the badge again, with the languages and position it was drawn with. */
  detected: boolean;
}

/**
 * Before/after PNGs of corpus photos with the visible badge, for a person to look at; none when
 * the corpus is not beside the checkout.
 */
export async function writeBadgePairs(outDir: string): Promise<BadgePair[]> {
  // TAMGA_NO_CORPUS (the test suite's "as on a user's machine" run) hides it here too.
  if (process.env['TAMGA_NO_CORPUS'] && process.env['TAMGA_NO_CORPUS'] !== '0') return [];
  if (!existsSync(NATURAL)) return [];
  const dir = join(outDir, 'visible');
  await mkdir(dir, { recursive: true });
  const pairs: BadgePair[] = [];
  for (const { photo, opts } of PAIRS) {
    const input = join(NATURAL, photo);
    if (!existsSync(input)) continue;
    const stem = photo.replace(/\.png$/, '');
    const before = join(dir, `${stem}.before.png`);
    const after = join(dir, `${stem}.after.png`);
    await copyFile(input, before);
    await label(input, { generator: { name: 'tamga-demo', version: '1' }, provider: 'Example AI LLP' }, { ...opts, output: after });
    const found = (await detect(after, { labelsOnly: true })).findings.find((f) => f.kind === 'visible:tamga-badge')?.value as
      | { langs: string[]; position: string }
      | undefined;
    const want = resolveLabelOptions(opts);
    const detected = Boolean(found && found.position === want.position && found.langs.join() === want.langs.join());
    pairs.push({ photo, before, after, langs: found?.langs ?? [], position: found?.position ?? 'none', detected });
  }
  return pairs;
}
