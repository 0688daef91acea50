import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { adapterFor, hasAdapter } from './adapters/index.js';
import { runLabelPipeline } from './api/pipeline.js';
import type { ResolvedLabelOptions } from './adapters/types.js';
import { renderPlan, WHOLE_WRITE_LIMIT, writePlanAtomically } from './core/edit.js';
import { invalidOption, TamgaError } from './core/errors.js';
import { DETECT_OPTION_KEYS, rejectUnknownLabelOptions, rejectUnknownOptions } from './core/options.js';
import { makeProvenance, type ProvenanceInput } from './core/provenance.js';
import { SNIFF_BYTES, refineSniff, sniff } from './core/sniff.js';
import { describeSource, MAX_STREAM_BYTES, openSource, type ByteReader, type Source } from './core/source.js';
import type { C2paConflict, DetectOptions, DetectResult, LabelOptions, LabelResult, Policy, SniffResult } from './core/types.js';
import { checkLangs, DEFAULT_LANGS } from './disclosure/catalogue.js';
import { DEFAULT_SIZE_PERCENT } from './disclosure/badge.js';
import { BADGE_POSITIONS } from './disclosure/mark.js';
import { C2PA_READABLE_MIME, c2paFindings, mayHoldC2paStore, resolveC2paSigning, resolveTrustAnchors } from './metadata/c2pa.js';
import { mayHoldBmffC2paBox } from './formats/isobmff.js';
import { checkAudibleCue } from './disclosure/cue.js';
import { checkOnScreen } from './disclosure/overlay.js';
import { recordLabelOutput } from './ledger/index.js';
import { LedgerStore } from './ledger/store.js';
import { checkWatermarkKey, watermarkKeysOf } from './watermark/keys.js';

const POLICIES: readonly Policy[] = ['kz', 'eu', 'cn', 'ca'];
const C2PA_CONFLICTS: readonly C2paConflict[] = ['error', 'strip', 'ignore'];
/** Policies whose law asks for a disclosure a person perceives (labelling-standards.md §4.2, §7.1). */
const VISIBLE_BY_DEFAULT: Record<Policy, boolean> = { kz: true, cn: true, eu: false, ca: false };

function invalid(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

const TEXT_POSITIONS: readonly string[] = ['start', 'end', 'both'];

export function resolveLabelOptions(opts: LabelOptions): ResolvedLabelOptions {
  const policy = opts.policy ?? 'kz';
  if (!POLICIES.includes(policy)) throw invalidOption('policy', `one of ${POLICIES.join(', ')}`, policy);
  const onExistingC2pa = opts.onExistingC2pa ?? 'error';
  if (!C2PA_CONFLICTS.includes(onExistingC2pa)) throw invalidOption('onExistingC2pa', `one of ${C2PA_CONFLICTS.join(', ')}`);
  const r: ResolvedLabelOptions = {
    policy,
    policyNamed: opts.policy !== undefined,
    explicit: { ...(opts.visible !== undefined ? { visible: opts.visible } : {}), ...(opts.metadata !== undefined ? { metadata: opts.metadata } : {}) },
    visible: opts.visible ?? VISIBLE_BY_DEFAULT[policy],
    metadata: opts.metadata ?? true,
    langs: opts.lang ? checkLangs(opts.lang) : DEFAULT_LANGS[policy],
    position: opts.position ?? 'bottom-right',
    sizePercent: opts.size ?? DEFAULT_SIZE_PERCENT,
    onExistingC2pa,
    textPosition: opts.textPosition ?? 'start',
    jsonFields: opts.jsonFields ?? ['content', 'text'],
    firstPageNotice: Boolean(opts.firstPageNotice),
  };
  if (!BADGE_POSITIONS.includes(r.position)) throw invalidOption('position', `one of ${BADGE_POSITIONS.join(', ')}`, opts.position);
  if (typeof r.sizePercent !== 'number' || !Number.isFinite(r.sizePercent) || r.sizePercent < 1 || r.sizePercent > 50) {
    throw invalidOption('size', `the text height in percent of the shortest side, 1 to 50`, opts.size);
  }
  if (opts.disclosureText !== undefined) {
    const t = opts.disclosureText.trim();
    if (!t || t.length > 2000 || /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(t)) throw invalidOption('disclosureText', '1 to 2000 characters of text without control characters');
    r.disclosureText = t;
  }
  if (opts.c2pa !== undefined) r.c2pa = resolveC2paSigning(opts.c2pa);
  if (!TEXT_POSITIONS.includes(r.textPosition!)) throw invalidOption('textPosition', `one of ${TEXT_POSITIONS.join(', ')}`, opts.textPosition);
  if (!Array.isArray(r.jsonFields) || !r.jsonFields.length || r.jsonFields.some((f) => typeof f !== 'string' || !f)) throw invalidOption('jsonFields', 'a non-empty list of key names');
  if (opts.watermarkKey !== undefined) r.watermarkKey = checkWatermarkKey(opts.watermarkKey);
  if (opts.audibleCue !== undefined) r.audibleCue = checkAudibleCue(opts.audibleCue);
  if (opts.onScreen !== undefined) r.onScreen = checkOnScreen(opts.onScreen);
  if (opts.reserveTraining !== undefined) {
    if (typeof opts.reserveTraining !== 'boolean') throw invalidOption('reserveTraining', `a boolean`, opts.reserveTraining);
    r.reserveTraining = opts.reserveTraining;
    // One flag for every layer: the C2PA signer then adds cawg.training-mining as well.
    if (opts.reserveTraining && r.c2pa) r.c2pa = { ...r.c2pa, reserveTraining: true };
  }
  return r;
}

async function sniffReader(reader: ByteReader): Promise<SniffResult> {
  if (reader.size === 0) throw new TamgaError('CORRUPT_INPUT', `${reader.name}: empty file`);
  const head = await reader.read(0, Math.min(SNIFF_BYTES, reader.size));
  const s = await refineSniff(sniff(head, reader.path), reader);
  if (!s) throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: not a media format tamga recognises (checked the magic bytes, not the extension)`);
  return s;
}

/** Same file, also through links; a destination that does not exist yet is not the input. */
function samePath(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  const statOrNone = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  };
  const [sa, sb] = [statOrNone(a), statOrNone(b)];
  return Boolean(sa && sb && sa.dev === sb.dev && sa.ino === sb.ino);
}

/**
 * Labels one file or buffer on the layers the options and policy ask for.
 * A path source is written to `opts.output` (or over itself with `inPlace`) through a temp file
 * and a rename; a Buffer or stream source without `output` returns the labelled bytes in `data`.
 */
export async function label(source: Source, provenance: ProvenanceInput = {}, opts: LabelOptions = {}): Promise<LabelResult> {
  rejectUnknownLabelOptions(provenance, opts);
  const resolved = resolveLabelOptions(opts);
  const p = makeProvenance(provenance);
  if (opts.inPlace && typeof source !== 'string') throw invalid('inPlace', 'in-place labelling needs a file path source');
  if (opts.inPlace && opts.output !== undefined && !(samePath(opts.output, source as string))) throw invalid('output', 'give either an output path or inPlace, not both');
  const dest = opts.inPlace ? (source as string) : opts.output;
  if (dest && typeof source === 'string' && !opts.inPlace && (samePath(dest, source))) {
    throw invalid('output', `${dest} is the input file; pass inPlace (--in-place) to label it in place`);
  }
  if (typeof source === 'string' && !dest) throw invalid('output', 'a file source needs an output path (or inPlace)');

  const reader = await openSource(source, { wholeFileBelow: WHOLE_WRITE_LIMIT });
  let planSource: ByteReader | undefined;
  let ledger: LedgerStore | undefined;
  try {
    // Opened before labelling: a bad ledger fails the call before anything is written.
    if (opts.ledger !== undefined) ledger = LedgerStore.open(opts.ledger);
    const s = await sniffReader(reader);
    const adapter = adapterFor(s, reader.name);
    const out = await runLabelPipeline(reader, s, adapter, p, resolved);
    planSource = out.from;
    const result: LabelResult = { format: s.format, kind: s.kind, provenance: p, layers: out.layers, bytes: 0 };
    if (out.skipped.length) result.skipped = out.skipped;
    if (dest) {
      const verify = opts.inPlace
        ? async (tmp: string) => {
            // Keep the original until the new file is complete and reads back with our label.
            const check = await detect(tmp, { labelsOnly: true, visible: false });
            const ok = check.findings.some((f) => f.kind.endsWith(':tamga') && (f.value as { contentId?: string }).contentId === p.contentId);
            if (out.layers.includes('metadata') && !ok) throw new TamgaError('WRITE_FAILED', `${dest}: the labelled file did not read back with its label; original kept`);
          }
        : undefined;
      result.bytes = await writePlanAtomically(out.from ?? reader, out.plan, dest, { ...(verify ? { verify } : {}), noOverwrite: opts.overwrite === false });
      result.output = dest;
    } else {
      result.data = await renderPlan(out.from ?? reader, out.plan);
      result.bytes = result.data.length;
    }
    if (ledger) {
      const r = await recordLabelOutput(ledger, p, s.kind, s.format, dest ? { path: dest } : { bytes: result.data! });
      result.ledger = { path: ledger.path, ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}) };
    }
    return result;
  } finally {
    ledger?.close();
    await planSource?.close();
    await reader.close();
  }
}

/** Reads every label and signal tamga knows in one file or buffer. Reads headers, not payloads. */
export async function detect(source: Source, opts: DetectOptions = {}): Promise<DetectResult> {
  rejectUnknownOptions(opts, DETECT_OPTION_KEYS, 'detect option');
  if (opts.trustAnchors !== undefined) opts = { ...opts, trustAnchors: resolveTrustAnchors(opts.trustAnchors) };
  watermarkKeysOf(opts); // checks watermarkKey / watermarkKeys before anything is read
  const reader = await openSource(source, { syncReads: Boolean(opts.syncReads) });
  try {
    const s = await sniffReader(reader);
    if (!hasAdapter(s) && C2PA_READABLE_MIME[s.format]) {
      // No adapter for this kind yet, but c2pa-rs reads its manifest, so the verifier can still judge it.
      // ISO BMFF keeps its store in a top-level uuid box: without one, the file need not be read.
      if ((s.format === 'heif' || s.format === 'avif') && !(await mayHoldBmffC2paBox(reader))) return { source: describeSource(source), format: s.format, kind: s.kind, findings: [] };
      if (reader.size > MAX_STREAM_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: over ${MAX_STREAM_BYTES} bytes; C2PA validation reads the whole file`, { limit: MAX_STREAM_BYTES });
      const bytes = await reader.read(0, reader.size);
      const findings = mayHoldC2paStore(bytes, s.format) ? await c2paFindings(bytes, s.format, `${s.format}:c2pa`, opts.trustAnchors ? { trustAnchors: opts.trustAnchors } : {}) : [];
      return { source: describeSource(source), format: s.format, kind: s.kind, findings };
    }
    const adapter = adapterFor(s, reader.name);
    const findings = await adapter.detect(reader, s.format, opts);
    return { source: describeSource(source), format: s.format, kind: s.kind, findings };
  } finally {
    await reader.close();
  }
}
