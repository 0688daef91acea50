import { pathToFileURL } from 'node:url';
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

/** Modules that register the custom detectors (see registerSignalDetector), imported by scan's worker threads. */
const DETECTOR_MODULES: string[] = [];
/** Custom detectors registered without a module: a worker thread cannot run them. */
let threadBound = 0;

/**
 * Adds a detector to the registry. `module` (a file URL or path, usually `import.meta.url` of the
 * module that makes this call at its top level) lets `scan({ workers })` load the same detector in
 * its worker threads; without it a scan verifies every file in the main thread, so no file loses
 * the detector's evidence.
 */
export function registerSignalDetector(d: SignalDetector, opts: { module?: string | URL } = {}): void {
  if (DETECTORS.some((x) => x.id === d.id)) throw new Error(`signal detector '${d.id}' is already registered`);
  DETECTORS.push(d);
  if (opts.module === undefined) threadBound++;
  else {
    const href = opts.module instanceof URL ? opts.module.href : /^[a-z][a-z0-9+.-]*:/i.test(opts.module) ? opts.module : pathToFileURL(opts.module).href;
    if (!DETECTOR_MODULES.includes(href)) DETECTOR_MODULES.push(href);
  }
}

/** What a worker thread must import to run the same detectors, or undefined when one cannot be shipped. */
export function detectorModules(): readonly string[] | undefined {
  return threadBound ? undefined : DETECTOR_MODULES;
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
