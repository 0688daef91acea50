/**
 * Baselines for the side-by-side image watermark comparison (issue 6): imwatermark's `dwtDct`
 * and `dwtDctSvd`, the public marks of ShieldMnt/invisible-watermark (the one Stable Diffusion's
 * reference scripts use).
 *
 * `imwatermarkDwtDct`/`imwatermarkDwtDctSvd` are OUR reimplementations from the published algorithm
 * (src/watermark/sd-dwtdct.ts, the library's uint8 path: OpenCV BGR->YUV, pywt Haar LL of U, 4x4
 * blocks, step 36 for both methods as in the library's defaults; not bit-identical, see the
 * README); `realImwatermark*` run the Python package itself when $IMWATERMARK_SRC is set. Like the library they have no key, no ECC and no
 * synchronisation: bits repeat cyclically over the blocks and the decoder averages the votes.
 *
 * Measured with no attack (64 bits, Kodak set, 24 images): dwtDctSvd 24/24 exact; dwtDct 8-10/24 (by payload)
 * exact. dwtDct moves the block's largest LL entry down for a 0, so on textured blocks another
 * entry becomes the largest and the decoder reads it (a vote biased to 1); the library's README
 * warns it cannot guarantee a 100% decode. Both lose the mark under 4:2:0 JPEG (chroma
 * subsampling plus the decoder's upsampling smear the 2x2-pixel U change).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeDwtDct, encodeDwtDct, type DwtDctMethod } from '../../src/watermark/sd-dwtdct.js';

export interface BaselineWatermarker {
  name: string;
  /** embed payload bits into an RGB image (channels 3, Uint8Array, row-major) and return the marked RGB */
  embed(img: { data: Uint8Array; width: number; height: number }, bits: Uint8Array): { data: Uint8Array; width: number; height: number };
  /** recover bits (0/1 per entry) */
  detect(img: { data: Uint8Array; width: number; height: number }, bitCount: number): Uint8Array;
}

function baseline(name: string, method: DwtDctMethod): BaselineWatermarker {
  return {
    name,
    embed: (img, bits) => encodeDwtDct(img, bits, { method }),
    // The library refuses images under 256x256 pixels; an attacked copy that small (a 0.5x resize
    // of a small original) counts as a failed decode rather than stopping the harness.
    detect: (img, bitCount) => {
      try {
        return decodeDwtDct(img, bitCount, { method }).bits;
      } catch {
        return new Uint8Array(bitCount);
      }
    },
  };
}

export const imwatermarkDwtDct: BaselineWatermarker = baseline('imwatermark dwtDct (reimpl.)', 'dwtDct');
export const imwatermarkDwtDctSvd: BaselineWatermarker = baseline('imwatermark dwtDctSvd (reimpl.)', 'dwtDctSvd');

/**
 * The real imwatermark package, run by bench/baselines/imwatermark_runner.py under Debian's python3
 * (python3-opencv, python3-pywt) with the package source from $IMWATERMARK_SRC (a checkout of
 * github:ShieldMnt/invisible-watermark). One python process per call (about 0.3 s of start-up,
 * excluded from nothing: compare its speed figures with that in mind). Undefined without the env.
 */
function realImwatermark(name: string, method: DwtDctMethod): BaselineWatermarker | undefined {
  const src = process.env.IMWATERMARK_SRC;
  const python = process.env.IMWATERMARK_PYTHON ?? '/usr/bin/python3';
  if (!src || !existsSync(join(src, 'imwatermark')) || !existsSync(python)) return undefined;
  const runner = join(import.meta.dirname, 'imwatermark_runner.py');
  const run = (args: string[], img: { data: Uint8Array; width: number; height: number }): Buffer => {
    const r = spawnSync(python, [runner, ...args], { input: img.data, maxBuffer: 1 << 28, env: { ...process.env, IMWATERMARK_SRC: src } });
    if (r.status !== 0) throw new Error(`imwatermark runner failed: ${r.stderr.toString().slice(-400)}`);
    return r.stdout;
  };
  return {
    name,
    embed: (img, bits) => ({ data: new Uint8Array(run(['embed', method, String(img.width), String(img.height), Array.from(bits, (b) => (b ? '1' : '0')).join('')], img)), width: img.width, height: img.height }),
    detect: (img, bitCount) => Uint8Array.from(run(['detect', method, String(img.width), String(img.height), String(bitCount)], img).toString(), (c) => (c === '1' ? 1 : 0)),
  };
}

export const realImwatermarkDwtDct = realImwatermark('imwatermark dwtDct (real package)', 'dwtDct');
export const realImwatermarkDwtDctSvd = realImwatermark('imwatermark dwtDctSvd (real package)', 'dwtDctSvd');
