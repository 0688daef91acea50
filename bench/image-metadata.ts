/**
 * bench/image-metadata: lossless metadata labelling throughput, tamga in-process vs one batch
 * exiftool process writing the same IPTC property, on the same 200 JPEGs.
 * Run: npm run bench:image-metadata [-- --files 200]
 * Target (issue 2): at least 10x exiftool's files/s.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { detect, label } from '../src/index.js';

const argN = process.argv.indexOf('--files');
const FILES = argN > 0 ? Number(process.argv[argN + 1]) : 200;
const TAM = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  const cam = join(corpus, 'camera');
  if (existsSync(cam)) for (const f of readdirSync(cam).filter((f) => f.endsWith('.jpg'))) out.push(join(cam, f));
  const nat = join(corpus, 'images', 'natural');
  if (existsSync(nat)) {
    for (const f of readdirSync(nat).filter((f) => f.endsWith('.png'))) {
      const p = join(dir, f.replace('.png', '.jpg'));
      await sharp(join(nat, f)).jpeg({ quality: 90 }).toFile(p);
      out.push(p);
    }
  }
  if (out.length === 0) {
    for (let i = 0; i < 16; i++) {
      const p = join(dir, `gen-${i}.jpg`);
      await sharp({ create: { width: 768, height: 512, channels: 3, background: { r: i * 15, g: 100, b: 200 - i * 10 } } }).jpeg().toFile(p);
      out.push(p);
    }
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'tamga-bench-'));
try {
  const srcDir = join(work, 'src');
  mkdirSync(srcDir);
  const base = await sources(srcDir);
  const inputs: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const p = join(srcDir, `in-${String(i).padStart(4, '0')}.jpg`);
    copyFileSync(base[i % base.length]!, p);
    inputs.push(p);
  }
  const mib = inputs.reduce((s, p) => s + statSync(p).size, 0) / 2 ** 20;
  console.log(`bench/image-metadata: ${FILES} JPEGs (${mib.toFixed(1)} MiB, ${base.length} distinct: corpus camera photos + Kodak set as JPEG)`);

  // Warm up module loading and sharp-free code paths once, outside the timing.
  const outDir = join(work, 'tamga');
  mkdirSync(outDir);
  await label(inputs[0]!, {}, { output: join(outDir, 'warmup.jpg'), visible: false });

  const t0 = performance.now();
  for (const [i, p] of inputs.entries()) await label(p, { generator: 'bench' }, { output: join(outDir, `out-${i}.jpg`), visible: false });
  const tamgaSec = (performance.now() - t0) / 1000;
  const tamgaRate = FILES / tamgaSec;

  const labelled = (await detect(join(outDir, 'out-0.jpg'))).findings.some((f) => f.kind === 'xmp:iptc-digital-source-type');
  if (!labelled) throw new Error('tamga output did not read back with its label');

  const hasExiftool = spawnSync('exiftool', ['-ver']).status === 0;
  console.log(`tamga    in-process, sequential: ${tamgaSec.toFixed(2)} s, ${tamgaRate.toFixed(0)} files/s`);
  if (!hasExiftool) {
    console.log('exiftool not installed: baseline skipped (apt-get install libimage-exiftool-perl)');
  } else {
    const exDir = join(work, 'exiftool');
    mkdirSync(exDir);
    for (const [i, p] of inputs.entries()) copyFileSync(p, join(exDir, `out-${i}.jpg`));
    const t1 = performance.now();
    execFileSync('exiftool', ['-q', '-overwrite_original', `-XMP-iptcExt:DigitalSourceType=${TAM}`, exDir]);
    const exSec = (performance.now() - t1) / 1000;
    const exRate = FILES / exSec;
    const check = execFileSync('exiftool', ['-s3', '-XMP-iptcExt:DigitalSourceType', join(exDir, 'out-0.jpg')], { encoding: 'utf8' }).trim();
    if (check !== TAM) throw new Error('exiftool baseline did not write the property');
    console.log(`exiftool one batch process:      ${exSec.toFixed(2)} s, ${exRate.toFixed(0)} files/s  (exiftool ${execFileSync('exiftool', ['-ver'], { encoding: 'utf8' }).trim()})`);
    console.log(`ratio tamga/exiftool: ${(tamgaRate / exRate).toFixed(1)}x (target >= 10x)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
