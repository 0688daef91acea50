/**
 * bench/c2pa: milliseconds per file to sign a C2PA manifest into an asset and to read + validate
 * it (c2pa-rs via @contentauth/c2pa-wasm, COSE built by tamga), for a 12 MP JPEG and a 60 s MP4.
 * Baseline measured in the same run: one SHA-256 pass over the same bytes, the least any hard
 * binding costs; the ratio shows what C2PA adds on top of hashing.
 * Run: npm run bench:c2pa [-- --runs 5]
 *
 * The 60 s MP4 is the corpus's 2 s H.264/AAC clip with its samples looped 30 times by
 * fixtures/make-c2pa-media.ts (remuxBmff: sample tables and durations rebuilt; ffmpeg is not
 * needed). The JPEG is a corpus photo upscaled to 4000x3000 by sharp (noise if no corpus).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { remuxBmff } from '../fixtures/make-c2pa-media.js';
import { makeProvenance } from '../src/core/provenance.js';
import type { Format } from '../src/core/types.js';
import { makeDevChain } from '../src/metadata/c2pa-devcert.js';
import { readC2pa, signC2pa } from '../src/metadata/c2pa.js';
import { localSigner } from '../src/metadata/cose.js';

const argR = process.argv.indexOf('--runs');
const RUNS = argR > 0 ? Number(process.argv[argR + 1]) : 5;
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');

async function jpeg12mp(): Promise<{ bytes: Buffer; from: string }> {
  const nat = join(corpus, 'images', 'natural');
  const photo = existsSync(nat) ? readdirSync(nat).find((f) => /\.(png|jpe?g)$/i.test(f)) : undefined;
  const source = photo ? sharp(join(nat, photo)) : sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#777', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
  const bytes = await source.resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  return { bytes, from: photo ? `corpus images/natural/${photo} upscaled` : 'gaussian noise (no corpus)' };
}

function mp4For60s(): { bytes: Buffer; from: string } | undefined {
  const clip = join(corpus, 'c2pa', 'video1-signed.mp4');
  if (!existsSync(clip)) return undefined;
  return { bytes: remuxBmff(readFileSync(clip), { loops: 30 }), from: 'corpus c2pa/video1-signed.mp4 (2.03 s) looped 30x = 61 s' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const chain = await makeDevChain();
const signer = localSigner({ cert: chain.chainPem, key: chain.keyPem });
const p = makeProvenance({ generator: 'bench/1', provider: 'tamga bench' });

// The first call loads and compiles the 9 MB wasm module once per process; report it apart.
const warm0 = performance.now();
await readC2pa(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'jpeg');
const wasmLoadMs = performance.now() - warm0;

const assets: { name: string; format: Format; bytes: Buffer; from: string }[] = [{ name: '12 MP JPEG', format: 'jpeg', ...(await jpeg12mp()) }];
const mp4 = mp4For60s();
if (mp4) assets.push({ name: '60 s MP4', format: 'mp4', ...mp4 });
else console.warn(`bench/c2pa: ${corpus}/c2pa/video1-signed.mp4 not found: the 60 s MP4 is SKIPPED`);

console.log(`bench/c2pa: median of ${RUNS} runs; ES256 development chain; wasm load + compile once: ${wasmLoadMs.toFixed(0)} ms`);
console.log('asset        format  MiB    sign ms  read+validate ms  sha256 ms (baseline)  sign/sha256  read/sha256');
for (const a of assets) {
  const signed = await signC2pa(a.bytes, a.format, p, { signer });
  const report = await readC2pa(signed, a.format, { trustAnchors: chain.rootPem });
  if (report?.validationState !== 'valid') throw new Error(`${a.name}: signed file did not validate: ${JSON.stringify(report)}`);
  const sign = await time(() => signC2pa(a.bytes, a.format, p, { signer }));
  const read = await time(() => readC2pa(signed, a.format, { trustAnchors: chain.rootPem }));
  const hash = await time(() => createHash('sha256').update(a.bytes).digest());
  console.log(
    `${a.name.padEnd(12)} ${a.format.padEnd(6)} ${(a.bytes.length / 2 ** 20).toFixed(1).padStart(5)}  ${sign.toFixed(1).padStart(7)}  ${read.toFixed(1).padStart(16)}  ${hash
      .toFixed(1)
      .padStart(20)}  ${(sign / hash).toFixed(1).padStart(10)}x  ${(read / hash).toFixed(1).padStart(10)}x   (${a.from})`,
  );
}
