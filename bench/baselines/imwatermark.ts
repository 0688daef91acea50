/**
 * Baselines for the side-by-side image watermark comparison (issue 6): imwatermark's `dwtDct`
 * and `dwtDctSvd`, the public marks of ShieldMnt/invisible-watermark (the one Stable Diffusion's
 * reference scripts use).
 *
 * These are OUR reimplementations from the published algorithm (src/watermark/sd-dwtdct.ts,
 * bit-compatible with the library's uint8 path: OpenCV BGR->YUV, pywt Haar LL of U, 4x4 blocks,
 * step 36 for both methods as in the library's defaults), not the Python package itself, which
 * cannot be installed here (no PyPI). Like the library they have no key, no ECC and no
 * synchronisation: bits repeat cyclically over the blocks and the decoder averages the votes.
 *
 * Measured with no attack (64 bits, Kodak set, 24 images): dwtDctSvd 24/24 exact; dwtDct 8-10/24 (by payload)
 * exact. dwtDct moves the block's largest LL entry down for a 0, so on textured blocks another
 * entry becomes the largest and the decoder reads it (a vote biased to 1); the library's README
 * warns it cannot guarantee a 100% decode. Both lose the mark under 4:2:0 JPEG (chroma
 * subsampling plus the decoder's upsampling smear the 2x2-pixel U change).
 */
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
