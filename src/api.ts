import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { adapterFor } from './adapters/index.js';
import type { ResolvedLabelOptions } from './adapters/types.js';
import { renderPlan, WHOLE_WRITE_LIMIT, writePlanAtomically } from './core/edit.js';
import { TamgaError } from './core/errors.js';
import { makeProvenance, type ProvenanceInput } from './core/provenance.js';
import { SNIFF_BYTES, sniff } from './core/sniff.js';
import { describeSource, openSource, type ByteReader, type Source } from './core/source.js';
import type { C2paConflict, DetectOptions, DetectResult, LabelOptions, LabelResult, Policy, SniffResult } from './core/types.js';
import { checkLangs, DEFAULT_LANGS } from './disclosure/catalogue.js';

const POLICIES: readonly Policy[] = ['kz', 'eu', 'cn', 'ca'];
const C2PA_CONFLICTS: readonly C2paConflict[] = ['error', 'strip', 'ignore'];
/** Policies whose law asks for a disclosure a person perceives (labelling-standards.md §4.2, §7.1). */
const VISIBLE_BY_DEFAULT: Record<Policy, boolean> = { kz: true, cn: true, eu: false, ca: false };

function invalid(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

export function resolveLabelOptions(opts: LabelOptions): ResolvedLabelOptions {
  const policy = opts.policy ?? 'kz';
  if (!POLICIES.includes(policy)) throw invalid('policy', `expected one of ${POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  const onExistingC2pa = opts.onExistingC2pa ?? 'error';
  if (!C2PA_CONFLICTS.includes(onExistingC2pa)) throw invalid('onExistingC2pa', `expected one of ${C2PA_CONFLICTS.join(', ')}`);
  const r: ResolvedLabelOptions = {
    policy,
    visible: opts.visible ?? VISIBLE_BY_DEFAULT[policy],
    metadata: opts.metadata ?? true,
    langs: opts.lang ? checkLangs(opts.lang) : DEFAULT_LANGS[policy],
    onExistingC2pa,
  };
  if (opts.disclosureText !== undefined) {
    const t = opts.disclosureText.trim();
    if (!t || t.length > 2000 || /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(t)) throw invalid('disclosureText', 'expected 1 to 2000 characters of text without control characters');
    r.disclosureText = t;
  }
  return r;
}

async function sniffReader(reader: ByteReader): Promise<SniffResult> {
  if (reader.size === 0) throw new TamgaError('CORRUPT_INPUT', `${reader.name}: empty file`);
  const head = await reader.read(0, Math.min(SNIFF_BYTES, reader.size));
  const s = sniff(head, reader.path);
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
  try {
    const s = await sniffReader(reader);
    const adapter = adapterFor(s, reader.name);
    const out = await adapter.label(reader, s.format, p, resolved);
    const result: LabelResult = { format: s.format, kind: s.kind, provenance: p, layers: out.layers, bytes: 0 };
    if (out.skipped.length) result.skipped = out.skipped;
    if (dest) {
      const verify = opts.inPlace
        ? async (tmp: string) => {
            // Keep the original until the new file is complete and reads back with our label.
            const check = await detect(tmp, { labelsOnly: true });
            const ok = check.findings.some((f) => f.kind === 'xmp:tamga' && (f.value as { contentId?: string }).contentId === p.contentId);
            if (out.layers.includes('metadata') && !ok) throw new TamgaError('WRITE_FAILED', `${dest}: the labelled file did not read back with its label; original kept`);
          }
        : undefined;
      result.bytes = await writePlanAtomically(reader, out.plan, dest, { ...(verify ? { verify } : {}), noOverwrite: opts.overwrite === false });
      result.output = dest;
    } else {
      result.data = await renderPlan(reader, out.plan);
      result.bytes = result.data.length;
    }
    return result;
  } finally {
    await reader.close();
  }
}

/** Reads every label and signal tamga knows in one file or buffer. Reads headers, not payloads. */
export async function detect(source: Source, opts: DetectOptions = {}): Promise<DetectResult> {
  const reader = await openSource(source);
  try {
    const s = await sniffReader(reader);
    const adapter = adapterFor(s, reader.name);
    const findings = await adapter.detect(reader, s.format, opts);
    return { source: describeSource(source), format: s.format, kind: s.kind, findings };
  } finally {
    await reader.close();
  }
}
