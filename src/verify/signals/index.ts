import type { Finding } from '../../core/types.js';
import { a1111Detector } from './a1111.js';
import { avTagsDetector } from './av-tags.js';
import { c2paDetector } from './c2pa.js';
import { comfyuiDetector } from './comfyui.js';
import { disclosuresDetector } from './disclosures.js';
import { easyDiffusionDetector } from './easydiffusion.js';
import { fooocusDetector } from './fooocus.js';
import { generatorStringsDetector } from './generator-strings.js';
import { invokeaiDetector } from './invokeai.js';
import { iptcDetector } from './iptc.js';
import { ledgerDetector } from './ledger.js';
import { midjourneyDetector } from './midjourney.js';
import { novelaiDetector } from './novelai.js';
import { sdWatermarkDetector } from './sd-watermark.js';
import { stealthPngInfoDetector } from './stealth-pnginfo.js';
import { tc260Detector } from './tc260.js';
import type { SignalContext, SignalDetector } from './types.js';

/**
 * The registry of evidence detectors, run in this order for every file. Detectors that need a key
 * or a database (tamga's keyed watermark, the SD dwtDct watermark, ledger matches) register here
 * through `registerSignalDetector` when they land.
 */
const DETECTORS: SignalDetector[] = [
  c2paDetector,
  iptcDetector,
  tc260Detector,
  disclosuresDetector,
  a1111Detector,
  comfyuiDetector,
  invokeaiDetector,
  easyDiffusionDetector,
  fooocusDetector,
  novelaiDetector,
  midjourneyDetector,
  stealthPngInfoDetector,
  sdWatermarkDetector,
  generatorStringsDetector,
  avTagsDetector,
  ledgerDetector,
];

export function registerSignalDetector(d: SignalDetector): void {
  if (DETECTORS.some((x) => x.id === d.id)) throw new Error(`signal detector '${d.id}' is already registered`);
  DETECTORS.push(d);
}

export function signalDetectors(): readonly SignalDetector[] {
  return DETECTORS;
}

/** Every registered detector's evidence for one file, strongest first. */
export async function runSignalDetectors(ctx: SignalContext): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const d of DETECTORS) out.push(...(await d.detect(ctx)));
  return out.sort((a, b) => b.confidence - a.confidence);
}

export type { SignalContext, SignalDetector } from './types.js';
