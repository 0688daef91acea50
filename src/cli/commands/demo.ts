import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Command } from 'commander';
import { detect, label } from '../../api.js';
import { hasMachineReadableLabel } from '../../verify/labels.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../output.js';
import { writeDevChain } from '../../index.js';
import { writeBadgePairs, type BadgePair } from '../../disclosure/showcase.js';

/** fixtures/demo sits three levels above both src/cli/commands and dist/cli/commands. */
const DEMO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'demo');

async function pixelsEqual(a: string, b: string): Promise<boolean> {
  const decode = (p: string) => sharp(p, { animated: true }).ensureAlpha().raw().toBuffer();
  const [x, y] = await Promise.all([decode(a), decode(b)]);
  return x.equals(y);
}

interface DemoRow {
  file: string;
  format: string;
  output: string;
  contentId: string;
  findings: string[];
  labelled: boolean;
  /** C2PA validation state with the demo's own development root as trust anchor (`valid` expected). */
  c2pa: string;
  pixelsIdentical: boolean;
}

/** Labels every bundled sample (metadata only, lossless), detects the labels, checks the pixels. */
export async function runDemo(o: { out?: string; json?: boolean }): Promise<number> {
  const outDir = o.out ?? (await mkdtemp(join(tmpdir(), 'tamga-demo-')));
  await mkdir(outDir, { recursive: true });
  const rows: DemoRow[] = [];
  let pairs: BadgePair[] = [];
  // A fresh development chain signs the demo's C2PA manifests; only its own root trusts it.
  const keyDir = await mkdtemp(join(tmpdir(), 'tamga-demo-keys-'));
  try {
    const chain = await writeDevChain(keyDir);
    for (const name of (await readdir(DEMO_DIR)).sort()) {
      const input = join(DEMO_DIR, name);
      const output = join(outDir, name.replace(/(\.[^.]+)$/, '.labelled$1'));
      const r = await label(
        input,
        { generator: { name: 'tamga-demo', version: '1' }, provider: 'Example AI LLP', jurisdictions: ['KZ'] },
        { output, visible: false, c2pa: { cert: chain.chainPem, key: chain.keyPem } },
      );
      const d = await detect(output, { labelsOnly: true, trustAnchors: chain.rootPem });
      const manifest = d.findings.find((f) => f.kind === 'c2pa:manifest')?.value as { validationState?: string } | undefined;
      rows.push({
        file: name,
        format: r.format,
        output,
        contentId: r.provenance.contentId,
        findings: [...new Set(d.findings.map((f) => f.kind))],
        labelled: hasMachineReadableLabel(d),
        c2pa: manifest?.validationState ?? 'missing',
        pixelsIdentical: await pixelsEqual(input, output),
      });
    }
    pairs = await writeBadgePairs(outDir);
  } finally {
    await rm(keyDir, { recursive: true, force: true });
    if (!o.out) await rm(outDir, { recursive: true, force: true });
  }
  const ok = rows.length > 0 && rows.every((r) => r.labelled && r.c2pa === 'valid' && r.pixelsIdentical) && pairs.every((p) => p.detected);
  if (o.json) {
    console.log(JSON.stringify({ ok, outDir: o.out ?? null, files: rows, visible: pairs }, null, 2));
  } else {
    console.log(`tamga demo: labelled ${rows.length} sample images (metadata layer, lossless; C2PA signed with a development chain) and detected them\n`);
    for (const r of rows) {
      console.log(`${r.file.padEnd(12)} ${r.format.padEnd(5)} ${r.labelled ? 'label found' : 'LABEL MISSING'}  C2PA ${r.c2pa}  pixels ${r.pixelsIdentical ? 'identical' : 'CHANGED'}`);
      console.log(`${''.padEnd(18)} ${r.findings.join(', ')}`);
    }
    if (pairs.length) console.log(`\nvisible badge on ${pairs.length} corpus photos (before/after PNGs${o.out ? ` in ${join(outDir, 'visible')}` : ''}):`);
    for (const p of pairs) console.log(`${p.photo.padEnd(12)} badge ${p.detected ? `found: ${p.position}, ${p.langs.join('+')}` : 'NOT FOUND'}`);
    console.log(o.out ? `\nlabelled files are in ${outDir}` : '\n(run with --out DIR to keep the labelled files; then `npx tamga detect DIR/*`)');
  }
  return ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('label the bundled sample images and detect the labels (a quick end-to-end check)')
    .option('--out <dir>', 'keep the labelled files in this directory (default: a temp dir, removed after)')
    .option('--json', 'print the results as JSON')
    .action(async (o: { out?: string; json?: boolean }) => {
      process.exitCode = await runDemo(o).catch((e) => reportError(e, Boolean(o.json)));
    });

}
