import { Option, type Command } from 'commander';
import { label } from '../../api.js';
import { TamgaError } from '../../core/errors.js';
import { WRITABLE_SOURCE_TYPES, type ProvenanceInput } from '../../core/provenance.js';
import type { C2paConflict, LabelOptions, Policy } from '../../core/types.js';
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

export function registerLabelCommand(program: Command): void {
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

}
