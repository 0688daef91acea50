import { renderPlan } from '../core/edit.js';
import { TamgaError } from '../core/errors.js';
import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { Layer, SniffResult } from '../core/types.js';
import type { AdapterLabelOutput, MediaAdapter, ReencodeLayer, ResolvedLabelOptions, StepOutput, WritableLayer } from '../adapters/types.js';
import { C2PA_SIGNABLE_MIME, signC2pa } from '../metadata/c2pa.js';
import { checkPolicyMet, LAYER_OPTION, policyWantsVisible } from './requirements.js';

/**
 * The one label pipeline (architecture.md "Layers"): every medium's label runs here, in one order —
 * the re-encoding layers (visible, then the watermark over it) in one pass, then the lossless
 * metadata write, then the C2PA manifest signed over the final bytes. Adapters only say what an
 * input can carry and supply the steps; this module alone decides what is written or skipped, the
 * C2PA conflict, and whether a named policy will be met.
 */

/** The order layers are written in, and listed in `LabelResult.layers`. */
const ORDER: readonly WritableLayer[] = ['visible', 'watermark', 'metadata', 'c2pa'];

/** The layers asked for, and whether the caller asked explicitly (an explicit one is written or the call fails). */
export function requestedLayers(opts: ResolvedLabelOptions, kind: SniffResult['kind']): { layer: WritableLayer; explicit: boolean }[] {
  const out: { layer: WritableLayer; explicit: boolean }[] = [];
  const visible = opts.explicit.visible ?? policyWantsVisible(opts.policy, kind);
  if (visible) out.push({ layer: 'visible', explicit: opts.explicit.visible === true });
  if (opts.watermarkKey) out.push({ layer: 'watermark', explicit: true });
  if (opts.metadata) out.push({ layer: 'metadata', explicit: opts.explicit.metadata === true });
  if (opts.c2pa) out.push({ layer: 'c2pa', explicit: true });
  return out;
}

function conflictError(name: string, where: string, layers: readonly WritableLayer[]): TamgaError {
  return new TamgaError(
    'C2PA_CONFLICT',
    `${name}: carries a C2PA manifest (${where}); writing the ${layers.join(' and ')} layer${layers.length > 1 ? 's' : ''} would break its hash binding. ` +
      `Use onExistingC2pa 'strip' (--on-c2pa strip) to remove it, or 'ignore' to keep it invalidated`,
    { where },
  );
}

/** Runs the label pipeline on one input; the result is written (or rendered) by the caller. */
export async function runLabelPipeline(input: ByteReader, s: SniffResult, adapter: MediaAdapter, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput> {
  const steps = await adapter.prepare(input, s.format, p, opts);
  const cannot = { ...steps.cannot };
  if (!C2PA_SIGNABLE_MIME[s.format]) cannot.c2pa ??= `c2pa-rs cannot embed a manifest in ${s.format}`;
  const write = new Set<WritableLayer>();
  const skipped: AdapterLabelOutput['skipped'] = [];
  for (const { layer, explicit } of requestedLayers(opts, s.kind)) {
    const why = cannot[layer];
    if (!why) write.add(layer);
    else if (explicit) throw new TamgaError('UNSUPPORTED_LAYER', `${input.name}: cannot write the ${layer} layer asked for with ${LAYER_OPTION[layer]}: ${why}`, { layer, format: s.format });
    else skipped.push({ layer, reason: why });
  }
  if (opts.policyNamed) checkPolicyMet(input.name, opts.policy, s.kind, p, write, cannot);
  if (!write.size) {
    const why = skipped.length ? `; ${skipped.map((k) => `${k.layer}: ${k.reason}`).join('; ')}` : '';
    throw new TamgaError('INVALID_OPTION', `${input.name}: nothing to write: every layer is off or cannot be carried by ${s.format}${why}`, { option: 'visible' });
  }
  const editing = ORDER.filter((l) => l !== 'c2pa' && write.has(l));
  if (steps.existingC2pa && opts.onExistingC2pa === 'error' && editing.length) throw conflictError(input.name, steps.existingC2pa, editing);
  const stripC2pa = Boolean(steps.existingC2pa) && opts.onExistingC2pa === 'strip';

  let out: StepOutput;
  if (steps.combined) {
    out = await steps.combined(input, new Set(editing) as ReadonlySet<Exclude<WritableLayer, 'c2pa'>>, stripC2pa);
  } else {
    const reencode = new Set(editing.filter((l): l is ReencodeLayer => l === 'visible' || l === 'watermark'));
    let current = input;
    if (reencode.size) {
      if (!steps.reencode) throw new Error(`${adapter.kind} adapter has no re-encoding step`);
      current = await steps.reencode(input, reencode);
    }
    try {
      out = write.has('metadata') ? await steps.metadata!(current, stripC2pa) : { plan: [{ copy: [0, current.size] }] };
    } catch (e) {
      if (current !== input) await current.close();
      throw e;
    }
    if (current !== input) out = { ...out, from: current };
  }
  if (write.has('c2pa')) {
    // Signed last, over the final bytes: the manifest's hard binding covers every byte that ships.
    const from = out.from;
    try {
      const bytes = await renderPlan(from ?? input, out.plan);
      out = { plan: [{ bytes: await signC2pa(bytes, s.format, p, opts.c2pa!) }] };
    } finally {
      await from?.close();
    }
  }
  const layers: Layer[] = ORDER.filter((l) => write.has(l));
  return { ...out, layers, skipped };
}
