import { Option, type Command } from 'commander';
import { label } from '../../api.js';
import { TamgaError } from '../../core/errors.js';
import { WRITABLE_SOURCE_TYPES, type ProvenanceInput } from '../../core/provenance.js';
import type { C2paConflict, LabelOptions, Policy, VisiblePosition } from '../../core/types.js';
import { BADGE_POSITIONS } from '../../disclosure/mark.js';
import { EXIT } from '../exit-codes.js';
import { list, reportError } from '../output.js';

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
  cert?: string;
  key?: string;
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

async function labelCommand(input: string, o: LabelCliOptions): Promise<number> {
  const provenance: ProvenanceInput = {};
  if (o.sourceType) provenance.digitalSourceType = o.sourceType as ProvenanceInput['digitalSourceType'];
  if (o.generator) provenance.generator = o.generator;
  if (o.provider) provenance.provider = o.provider;
  if (o.model) provenance.model = o.model;
  if (o.humanContribution) provenance.humanContribution = o.humanContribution as ProvenanceInput['humanContribution'];
  if (o.jurisdiction?.length) provenance.jurisdictions = o.jurisdiction;
  if (o.contentId) provenance.contentId = o.contentId;
  const opts: LabelOptions = {};
  if (o.output) opts.output = o.output;
  if (o.inPlace) opts.inPlace = true;
  if (o.policy) opts.policy = o.policy as Policy;
  if (o.lang) opts.lang = o.lang;
  if (o.text) opts.disclosureText = o.text;
  if (o.visible !== undefined) opts.visible = o.visible;
  if (o.position) opts.position = o.position as VisiblePosition;
  if (o.size !== undefined) opts.size = parseSizePercent(o.size);
  if (o.onC2pa) opts.onExistingC2pa = o.onC2pa as C2paConflict;
  if (o.overwrite === false) opts.overwrite = false;
  if (o.c2pa || o.cert || o.key) {
    if (!o.c2pa || !o.cert || !o.key) throw new TamgaError('INVALID_OPTION', 'c2pa: --c2pa needs --cert <chain.pem> and --key <key.pem> (make a development pair with `tamga keygen`)', { option: 'c2pa' });
    opts.c2pa = { cert: o.cert, key: o.key, reserveTraining: Boolean(o.reserveTraining) };
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
  if (!o.output && !o.inPlace) throw new TamgaError('INVALID_OPTION', 'output: give -o <file> or --in-place', { option: 'output' });
  const r = await label(input, provenance, opts);
  if (o.json) {
    console.log(JSON.stringify({ input, ...r }, null, 2));
  } else {
    console.log(`labelled ${input} -> ${r.output} (${r.format}; layers: ${r.layers.join(', ') || 'none'}; contentId ${r.provenance.contentId})`);
    if (r.ledger) console.log(`recorded in ledger ${r.ledger.path} (${r.ledger.fingerprint ?? 'SHA-256 only: no perceptual fingerprint for this file'})`);
    for (const s of r.skipped ?? []) console.error(`tamga: note: ${s.layer} layer not written: ${s.reason}`);
  }
  return EXIT.OK;
}

export function registerLabelCommand(program: Command): void {
  program
    .command('label')
    .description('label one file: a visible badge (by policy) and machine-readable metadata (lossless with --no-visible)')
    .argument('<input>', 'the file to label')
    .option('-o, --output <file>', 'write the labelled file here (never the input; see --in-place)')
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
    .option('--c2pa', 'sign a C2PA manifest as the last layer (needs --cert and --key)')
    .option('--cert <pem>', 'C2PA signing certificate chain (PEM, signing certificate first)')
    .option('--key <pem>', 'private key of the C2PA signing certificate (PEM)')
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
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: LabelCliOptions) => {
      process.exitCode = await labelCommand(input, o).catch((e) => reportError(e, Boolean(o.json)));
    });

}
