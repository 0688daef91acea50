import type { Command } from 'commander';
import { stripTextWatermarkFile } from '../../adapters/text.js';
import { TamgaError } from '../../core/errors.js';
import { sniff, SNIFF_BYTES } from '../../core/sniff.js';
import { FileReader } from '../../core/source.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../output.js';

interface StripCliOptions {
  output?: string;
  watermarkKey?: string;
  overwrite?: boolean;
  json?: boolean;
}

async function stripCommand(input: string, o: StripCliOptions): Promise<number> {
  if (!o.output) throw new TamgaError('INVALID_OPTION', 'output: give -o <file>', { option: 'output' });
  const reader = await FileReader.open(input);
  const head = await reader.read(0, Math.min(SNIFF_BYTES, reader.size)).finally(() => reader.close());
  const s = sniff(head, input);
  if (s?.kind !== 'text') throw new TamgaError('UNSUPPORTED_FORMAT', `${input}: strip removes the text watermark; this is ${s ? `${s.format} (${s.kind})` : 'not a format tamga recognises'}`, { format: s?.format });
  const key = o.watermarkKey ?? process.env.TAMGA_WATERMARK_KEY;
  const r = await stripTextWatermarkFile(input, o.output, key, { overwrite: o.overwrite !== false });
  if (o.json) console.log(JSON.stringify({ input, output: o.output, removed: r.removed, bytes: r.bytes }, null, 2));
  else if (key !== undefined && r.removed === 0) console.log(`${input}: no watermark under this key; nothing written`);
  else console.log(`stripped ${input} -> ${o.output} (${r.removed} watermark cluster(s) removed)`);
  return EXIT.OK;
}

export function registerStripCommand(program: Command): void {
  program
    .command('strip')
    .description('remove the invisible text watermark (the visible disclosure and metadata stay)')
    .argument('<input>', 'a labelled text file')
    .requiredOption('-o, --output <file>', 'write the stripped text here')
    .option('--watermark-key <key>', 'only remove a watermark made with this key (default: $TAMGA_WATERMARK_KEY; without a key every tamga-shaped cluster is removed)')
    .option('--no-overwrite', 'fail if the output file exists')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: StripCliOptions) => {
      process.exitCode = await stripCommand(input, o).catch((e) => reportError(e, Boolean(o.json)));
    });
}
