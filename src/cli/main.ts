import { Command, CommanderError, Option } from 'commander';
import { detect, label } from '../api.js';
import { isTamgaError, TamgaError } from '../core/errors.js';
import { WRITABLE_SOURCE_TYPES, type ProvenanceInput } from '../core/provenance.js';
import type { C2paConflict, DetectResult, Finding, LabelOptions, Policy } from '../core/types.js';
import { hasMachineReadableLabel } from '../verify/labels.js';
import { VERSION } from '../version.js';
import { runDemo } from './demo.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

const list = (v: string, prev: string[] = []): string[] => prev.concat(v.split(',').map((s) => s.trim()).filter(Boolean));

/** Errors go to stdout as JSON with --json (so a pipeline parses one stream), else to stderr. */
function reportError(e: unknown, json: boolean): number {
  if (isTamgaError(e)) {
    if (json) console.log(JSON.stringify({ error: e.toJSON() }, null, 2));
    else console.error(`tamga: ${e.message} [${e.code}]`);
    return exitCodeFor(e.code);
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (json) console.log(JSON.stringify({ error: { name: 'InternalError', code: 'INTERNAL', message: String(e instanceof Error ? e.message : e) } }, null, 2));
  console.error(`tamga: internal error (please report with the input file): ${msg}`);
  return EXIT.INTERNAL;
}

function formatFinding(f: Finding): string {
  let v: string;
  if (f.kind === 'xmp:iptc-digital-source-type') v = (f.value as { uri: string }).uri;
  else if (typeof f.value === 'string') v = f.value;
  else v = JSON.stringify(f.value);
  if (v && v.length > 120) v = v.slice(0, 117) + '...';
  const conf = f.confidence < 1 ? ` (confidence ${f.confidence})` : '';
  return `  ${f.layer.padEnd(9)} ${f.kind.padEnd(32)} ${v ?? ''}${conf}${f.where ? `  [${f.where}]` : ''}`;
}

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
  onC2pa?: string;
  overwrite?: boolean;
  json?: boolean;
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
  if (o.onC2pa) opts.onExistingC2pa = o.onC2pa as C2paConflict;
  if (o.overwrite === false) opts.overwrite = false;
  if (!o.output && !o.inPlace) throw new TamgaError('INVALID_OPTION', 'output: give -o <file> or --in-place', { option: 'output' });
  const r = await label(input, provenance, opts);
  if (o.json) {
    console.log(JSON.stringify({ input, ...r }, null, 2));
  } else {
    console.log(`labelled ${input} -> ${r.output} (${r.format}; layers: ${r.layers.join(', ') || 'none'}; contentId ${r.provenance.contentId})`);
    for (const s of r.skipped ?? []) console.error(`tamga: note: ${s.layer} layer not written: ${s.reason}`);
  }
  return EXIT.OK;
}

async function detectCommand(files: string[], o: { json?: boolean; labelsOnly?: boolean; requireLabel?: boolean }): Promise<number> {
  const results: (DetectResult | { source: string; error: ReturnType<TamgaError['toJSON']> })[] = [];
  let code: number = EXIT.OK;
  for (const file of files) {
    try {
      const r = await detect(file, o.labelsOnly ? { labelsOnly: true } : {});
      const labelled = hasMachineReadableLabel(r);
      if (o.requireLabel && !labelled && code === EXIT.OK) code = EXIT.CHECK_FAILED;
      results.push(r);
      if (!o.json) {
        console.log(`${file}: ${r.format} ${r.kind}, ${r.findings.length} finding(s)${labelled ? ', AI label present' : ', no machine-readable AI label'}`);
        for (const f of r.findings) console.log(formatFinding(f));
      }
    } catch (e) {
      if (!isTamgaError(e)) throw e;
      results.push({ source: file, error: e.toJSON() });
      if (!o.json) console.error(`${file}: ${e.message} [${e.code}]`);
      code = Math.max(code, exitCodeFor(e.code));
    }
  }
  if (o.json) console.log(JSON.stringify(results, null, 2));
  return code;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tamga')
    .description('Label AI-generated media (visible, metadata, C2PA, watermark) and find synthetic media that is not labelled.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('label')
    .description('label one file: machine-readable metadata written losslessly (pixels untouched)')
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
    .addOption(new Option('--on-c2pa <action>', 'if the input has a C2PA manifest our edit would invalidate').choices(['error', 'strip', 'ignore']).default(undefined, 'error'))
    .option('--no-overwrite', 'fail if the output file exists')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: LabelCliOptions) => {
      process.exitCode = await labelCommand(input, o).catch((e) => reportError(e, Boolean(o.json)));
    });

  program
    .command('detect')
    .description('report every label and AI signal found in the files (headers only, nothing written)')
    .argument('<files...>', 'files to inspect')
    .option('--labels-only', 'only label findings, not raw text chunks / EXIF hints')
    .option('--require-label', 'exit 1 if any file has no machine-readable AI label')
    .option('--json', 'print the results as JSON')
    .action(async (files: string[], o: { json?: boolean; labelsOnly?: boolean; requireLabel?: boolean }) => {
      process.exitCode = await detectCommand(files, o).catch((e) => reportError(e, Boolean(o.json)));
    });

  program
    .command('demo')
    .description('label the bundled sample images and detect the labels (a quick end-to-end check)')
    .option('--out <dir>', 'keep the labelled files in this directory (default: a temp dir, removed after)')
    .option('--json', 'print the results as JSON')
    .action(async (o: { out?: string; json?: boolean }) => {
      process.exitCode = await runDemo(o).catch((e) => reportError(e, Boolean(o.json)));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(e, argv.includes('--json'));
  }
}

process.exitCode = await main(process.argv);
