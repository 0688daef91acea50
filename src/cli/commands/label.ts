import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fsErrorText, isTamgaError, TamgaError } from '../../core/errors.js';
import { WRITABLE_SOURCE_TYPES } from '../../core/provenance.js';
import { BADGE_POSITIONS } from '../../disclosure/mark.js';
import { label, type C2paConflict, type LabelOptions, type LabelResult, type Policy, type ProvenanceInput, type VisiblePosition } from '../../index.js';
import { mapConcurrent } from '../../verify/pool.js';
import { walk } from '../../verify/walk.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { cliMessage, deprecatedAliases, detail, flagFor, isQuiet, list, note, reportError, say } from '../output.js';
import { STDIO, withStdio } from '../stdio.js';

interface LabelCliOptions {
  output?: string;
  inPlace?: boolean;
  sourceType?: string;
  generator?: string;
  provider?: string;
  model?: string;
  humanContribution?: string;
  jurisdiction?: string[];
  contentId?: string;
  policy?: string;
  lang?: string[];
  text?: string;
  visible?: boolean;
  position?: string;
  size?: string;
  onC2pa?: string;
  overwrite?: boolean;
  json?: boolean;
  c2pa?: boolean;
  c2paCert?: string;
  c2paKey?: string;
  concurrency: string;
  progress: boolean;
  reserveTraining?: boolean;
  textPosition?: string;
  jsonField?: string[];
  watermarkKey?: string;
  firstPageNotice?: boolean;
  cueEvery?: string;
  cueClip?: string;
  cueEnd?: boolean;
  onScreenSeconds?: string;
  crf?: string;
  preset?: string;
  ledger?: string;
}

/** A number option (the API checks its range and names it); NaN for non-numbers is refused there too. */
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

/** "5", "5%" or "7.5" -> a number; anything else is left for resolveLabelOptions to refuse by name. */
function parseSizePercent(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(v);
  if (!m) throw new TamgaError('INVALID_OPTION', `size: expected a percentage of the shortest side such as 5 or 5%, got ${JSON.stringify(v)}`, { option: 'size' });
  return Number(m[1]);
}

/** The API's provenance and options from the flags (checked by label() itself, which names them). */
function labelArgs(o: LabelCliOptions): { provenance: ProvenanceInput; opts: LabelOptions } {
  const provenance: ProvenanceInput = {};
  if (o.sourceType) provenance.digitalSourceType = o.sourceType as ProvenanceInput['digitalSourceType'];
  if (o.generator) provenance.generator = o.generator;
  if (o.provider) provenance.provider = o.provider;
  if (o.model) provenance.model = o.model;
  if (o.humanContribution) provenance.humanContribution = o.humanContribution as ProvenanceInput['humanContribution'];
  if (o.jurisdiction?.length) provenance.jurisdictions = o.jurisdiction;
  if (o.contentId) provenance.contentId = o.contentId;
  const opts: LabelOptions = {};
  if (o.policy) opts.policy = o.policy as Policy;
  if (o.lang) opts.lang = o.lang;
  if (o.text) opts.disclosureText = o.text;
  if (o.visible !== undefined) opts.visible = o.visible;
  if (o.position) opts.position = o.position as VisiblePosition;
  if (o.size !== undefined) opts.size = parseSizePercent(o.size);
  if (o.onC2pa) opts.onExistingC2pa = o.onC2pa as C2paConflict;
  if (o.overwrite === false) opts.overwrite = false;
  if (o.c2pa || o.c2paCert || o.c2paKey) {
    if (!o.c2pa || !o.c2paCert || !o.c2paKey) {
      throw new TamgaError('INVALID_OPTION', `c2pa: --c2pa needs ${flagFor('c2pa.cert')} <chain.pem> and ${flagFor('c2pa.key')} <key.pem> (make a development pair with \`tamga keygen\`)`, { option: 'c2pa' });
    }
    opts.c2pa = { cert: o.c2paCert, key: o.c2paKey, reserveTraining: Boolean(o.reserveTraining) };
  }
  // XMP plus:DataMining always; the C2PA assertion too when signing (api.ts passes the flag on).
  if (o.reserveTraining) opts.reserveTraining = true;
  if (o.textPosition) opts.textPosition = o.textPosition as LabelOptions['textPosition'];
  if (o.jsonField?.length) opts.jsonFields = o.jsonField;
  // A key on the command line shows in process lists: the environment variable is the quiet way.
  const watermarkKey = o.watermarkKey ?? process.env.TAMGA_WATERMARK_KEY;
  if (watermarkKey !== undefined) opts.watermarkKey = watermarkKey;
  if (o.firstPageNotice) opts.firstPageNotice = true;
  if (o.cueEvery !== undefined || o.cueClip !== undefined || o.cueEnd === false) {
    opts.audibleCue = { ...(o.cueEvery !== undefined ? { everyMinutes: num(o.cueEvery)! } : {}), ...(o.cueClip ? { clip: o.cueClip } : {}), ...(o.cueEnd === false ? { atEnd: false } : {}) };
  }
  if (o.onScreenSeconds !== undefined || o.crf !== undefined || o.preset !== undefined) {
    opts.onScreen = { ...(o.onScreenSeconds !== undefined ? { seconds: num(o.onScreenSeconds)! } : {}), ...(o.crf !== undefined ? { crf: num(o.crf)! } : {}), ...(o.preset ? { preset: o.preset } : {}) };
  }
  if (o.ledger !== undefined) opts.ledger = o.ledger;
  return { provenance, opts };
}

function printResult(input: string, r: LabelResult, toStdout: boolean): void {
  // With -o -, stdout carries the file: what is said goes to stderr.
  const stream = toStdout ? 'stderr' : 'stdout';
  say(`labelled ${input} -> ${toStdout ? '-' : r.output} (${r.format}; layers: ${r.layers.join(', ') || 'none'}; contentId ${r.provenance.contentId})`, stream);
  if (r.ledger) say(`recorded in ledger ${r.ledger.path} (${r.ledger.fingerprint ?? 'SHA-256 only: no perceptual fingerprint for this file'})`, stream);
  for (const s of r.skipped ?? []) note(`${input}: ${s.layer} layer not written: ${s.reason}`);
}

async function labelOne(input: string, o: LabelCliOptions): Promise<number> {
  const { provenance, opts } = labelArgs(o);
  if (!o.output && !o.inPlace) throw new TamgaError('INVALID_OPTION', 'output: give -o <file> (- for stdout) or --in-place', { option: 'output' });
  if (o.inPlace && input === STDIO) throw new TamgaError('INVALID_OPTION', 'inPlace: stdin (-) cannot be labelled in place; give -o <file> or -o -', { option: 'inPlace' });
  const toStdout = o.output === STDIO;
  if (toStdout && o.json) throw new TamgaError('INVALID_OPTION', 'json: with -o - stdout carries the labelled file; leave out --json', { option: 'json' });
  const r = await withStdio(input, o.output, (inPath, outPath) => label(inPath, provenance, { ...opts, ...(outPath ? { output: outPath } : {}), ...(o.inPlace ? { inPlace: true } : {}) }));
  if (toStdout) r.output = STDIO;
  if (o.json) console.log(JSON.stringify({ input, ...r }, null, 2));
  else printResult(input, r, toStdout);
  return EXIT.OK;
}

type BatchItem = { input: string; output: string };

/** The files of a batch: each file argument, and every file under each directory argument (outputs mirror the tree). */
async function batchItems(inputs: string[], outDir: string | undefined): Promise<{ items: BatchItem[]; walked: Set<string>; problems: { input: string; error: TamgaError }[] }> {
  const items: BatchItem[] = [];
  const walked = new Set<string>();
  const problems: { input: string; error: TamgaError }[] = [];
  const outAbs = outDir ? resolve(outDir) : undefined;
  for (const input of inputs) {
    let st;
    try {
      st = statSync(input);
    } catch (e) {
      problems.push({ input, error: new TamgaError('READ_FAILED', `${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : fsErrorText(e, 'cannot be read')}`, { path: input }, { cause: e }) });
      continue;
    }
    if (!st.isDirectory()) {
      items.push({ input, output: outDir ? join(outDir, basename(input)) : input });
      continue;
    }
    for await (const e of walk([input])) {
      // Never label our own outputs when -o is inside the folder being labelled.
      if (outAbs && (resolve(e.path) === outAbs || resolve(e.path).startsWith(outAbs + sep))) continue;
      if (e.problem) {
        problems.push({ input: e.path, error: e.problem });
        continue;
      }
      walked.add(e.path);
      items.push({ input: e.path, output: outDir ? join(outDir, relative(input, e.path)) : e.path });
    }
  }
  return { items, walked, problems };
}

async function labelBatch(inputs: string[], o: LabelCliOptions): Promise<number> {
  const { provenance, opts } = labelArgs(o);
  if (inputs.includes(STDIO)) throw new TamgaError('INVALID_OPTION', 'input: - (stdin) labels one file; give it alone', { option: 'input' });
  if (!o.output && !o.inPlace) throw new TamgaError('INVALID_OPTION', 'output: several files or a directory need -o <dir> (created if missing) or --in-place', { option: 'output' });
  if (o.output && o.inPlace) throw new TamgaError('INVALID_OPTION', 'output: give either -o <dir> or --in-place, not both', { option: 'output' });
  if (o.output === STDIO) throw new TamgaError('INVALID_OPTION', 'output: -o - writes one file to stdout; several files need -o <dir>', { option: 'output' });
  if (o.output && existsSync(o.output) && !statSync(o.output).isDirectory()) throw new TamgaError('INVALID_OPTION', `output: ${o.output} is a file; several inputs need -o <dir>`, { option: 'output' });
  if (provenance.contentId !== undefined) throw new TamgaError('INVALID_OPTION', 'contentId: one content id cannot label several files; leave it out (each file gets its own UUID v7)', { option: 'contentId' });
  const concurrency = Number(o.concurrency);
  if (!/^\d+$/.test(o.concurrency) || concurrency < 1 || concurrency > 64) throw new TamgaError('INVALID_OPTION', `concurrency: expected an integer from 1 to 64, got ${JSON.stringify(o.concurrency)}`, { option: 'concurrency' });
  const { items, walked, problems } = await batchItems(inputs, o.output);
  const seen = new Set<string>();
  const bar = o.progress && process.stderr.isTTY && !isQuiet() && !o.json ? new cliProgress.SingleBar({ stream: process.stderr, format: 'labelling [{bar}] {value}/{total} files | eta {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(items.length, 0);
  let code: number = EXIT.OK;
  const results: Record<string, unknown>[] = [];
  const counts = { labelled: 0, skipped: 0, failed: problems.length };
  for (const p of problems) {
    code = Math.max(code, exitCodeFor(p.error.code));
    results.push({ input: p.input, error: { ...p.error.toJSON(), message: cliMessage(p.error, p.input) } });
    if (!o.json) console.error(`tamga: ${cliMessage(p.error, p.input)} [${p.error.code}]`);
  }
  async function* queue() {
    for (const it of items) yield it;
  }
  for await (const r of mapConcurrent(queue(), concurrency, async (it): Promise<Record<string, unknown>> => {
    try {
      const key = resolve(it.output);
      if (seen.has(key)) throw new TamgaError('WRITE_FAILED', `${it.output}: another input of this run is written there`, { path: it.output });
      seen.add(key);
      if (o.output) mkdirSync(dirname(it.output), { recursive: true });
      const res = await label(it.input, provenance, { ...opts, ...(o.inPlace ? { inPlace: true } : { output: it.output }) });
      counts.labelled++;
      if (!o.json) bar ? detail(`labelled ${it.input} -> ${res.output}`) : printResult(it.input, res, false);
      return { input: it.input, ...res };
    } catch (e) {
      if (!isTamgaError(e)) throw e;
      // A file of a walked folder that tamga does not label is passed over, not an error.
      if (e.code === 'UNSUPPORTED_FORMAT' && walked.has(it.input)) {
        counts.skipped++;
        detail(`${it.input}: skipped: ${e.message}`);
        return { input: it.input, skipped: e.message };
      }
      counts.failed++;
      code = Math.max(code, exitCodeFor(e.code));
      const message = cliMessage(e, it.input);
      if (!o.json) console.error(`tamga: ${message} [${e.code}]`);
      return { input: it.input, error: { ...e.toJSON(), message } };
    } finally {
      bar?.increment();
    }
  })) results.push(r);
  bar?.stop();
  if (o.json) console.log(JSON.stringify({ results, summary: counts }, null, 2));
  else say(`labelled ${counts.labelled} file(s)${o.output ? ` into ${o.output}` : ' in place'}; ${counts.skipped} skipped (not a format tamga labels), ${counts.failed} failed`, 'stderr');
  return code;
}

async function labelCommand(inputs: string[], o: LabelCliOptions): Promise<number> {
  const batch = inputs.length > 1 || (inputs[0] !== STDIO && existsSync(inputs[0]!) && statSync(inputs[0]!).isDirectory());
  return batch ? labelBatch(inputs, o) : labelOne(inputs[0]!, o);
}

export function registerLabelCommand(program: Command): void {
  const cmd = program
    .command('label')
    .description('label one file: a visible badge (by policy) and machine-readable metadata (lossless with --no-visible)')
    .argument('<inputs...>', 'the file to label (- reads stdin), or several files or directories with -o <dir>')
    .option('-o, --output <path>', 'write the labelled file here (- for stdout; never the input, see --in-place); with several inputs or a directory, the output directory (created if missing; the tree is mirrored)')
    .option('--in-place', 'replace the input, kept intact until the new file is complete and verified')
    .addOption(new Option('--source-type <type>', 'IPTC digital source type').choices([...WRITABLE_SOURCE_TYPES]))
    .option('--generator <name[/version]>', 'the AI system, e.g. "Stable Diffusion XL/1.0"')
    .option('--provider <org>', 'operator responsible under the law')
    .option('--model <model>', 'model identifier')
    .addOption(new Option('--human-contribution <kind>', 'human share in the work').choices(['none', 'prompt', 'edited', 'composited']))
    .option('--jurisdiction <codes>', 'jurisdictions, comma-separated (KZ,EU,CN,US-CA)', list)
    .option('--content-id <id>', 'use this content id instead of a new UUID v7')
    .addOption(new Option('--policy <policy>', 'which law decides the default layers').choices(['kz', 'eu', 'cn', 'ca']).default(undefined, 'kz'))
    .option('--lang <codes>', 'disclosure languages, comma-separated (kk,ru,en,zh)', list)
    .option('--text <disclosure>', 'your own disclosure text instead of the catalogue')
    .option('--visible', 'ask for the visible layer (default: by policy)')
    .option('--no-visible', 'metadata only: the lossless path, pixels bit-identical')
    .addOption(new Option('--position <where>', 'where the visible badge goes').choices([...BADGE_POSITIONS]).default(undefined, 'bottom-right'))
    .option('--size <percent>', 'badge text height in % of the shortest side, e.g. 5 or 5% (default 5, at least 12 px)')
    .addOption(new Option('--on-c2pa <action>', 'if the input has a C2PA manifest our edit would invalidate').choices(['error', 'strip', 'ignore']).default(undefined, 'error'))
    .option('--no-overwrite', 'fail if the output file exists')
    .option('--c2pa', 'sign a C2PA manifest as the last layer (needs --c2pa-cert and --c2pa-key)')
    .option('--c2pa-cert <pem>', 'C2PA signing certificate chain (PEM, signing certificate first)')
    .option('--c2pa-key <pem>', 'private key of the C2PA signing certificate (PEM)')
    .option('--reserve-training', 'reserve the work against AI training: XMP plus:DataMining, and cawg.training-mining (notAllowed) when signing C2PA')
    .addOption(new Option('--text-position <where>', 'text: where the disclosure line goes').choices(['start', 'end', 'both']).default(undefined, 'start'))
    .option('--json-field <keys>', 'text (JSON): keys whose string values are the generated text, comma-separated (default content,text)', list)
    .option('--watermark-key <key>', 'invisible watermark key for text and images (default: $TAMGA_WATERMARK_KEY; without a key nothing is watermarked)')
    .option('--first-page-notice', 'PDF: also put the notice at the top of the first page')
    .option('--cue-every <minutes>', 'audio: repeat the audible cue every this many minutes')
    .option('--cue-clip <file>', 'audio: play this clip (e.g. a spoken disclosure) instead of the rhythm cue')
    .option('--no-cue-end', 'audio: no cue after the end')
    .option('--on-screen-seconds <s>', 'video: show the badge for the first s seconds (>= 2) instead of the whole duration')
    .option('--crf <n>', 'video: constant rate factor of the re-encode (default 18)')
    .option('--preset <name>', 'video: x264/x265 preset of the re-encode (default medium)')
    .option('--ledger <file>', 'record the output (content id, SHA-256, perceptual fingerprint) in this ledger for `scan --ledger` (SQLite; created if absent)')
    .option('--concurrency <n>', 'several files: labelled at once (default 2)', '2')
    .option('--no-progress', 'several files: never show the progress bar (shown on a terminal)')
    .option('--json', 'print the result as JSON (several files: { results, summary })')
    .action(async (inputs: string[], o: LabelCliOptions) => {
      process.exitCode = await labelCommand(inputs, o).catch((e) => reportError(e, Boolean(o.json), inputs.length === 1 ? inputs[0] : undefined));
    });
  deprecatedAliases(cmd, [
    { flags: '--cert <pem>', from: 'cert', to: 'c2paCert', toFlag: '--c2pa-cert', apiOption: 'c2pa.cert' },
    { flags: '--key <pem>', from: 'key', to: 'c2paKey', toFlag: '--c2pa-key', apiOption: 'c2pa.key' },
  ]);

}
