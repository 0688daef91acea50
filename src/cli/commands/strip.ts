import type { Command } from 'commander';
import { TamgaError } from '../../core/errors.js';
import { strip } from '../../index.js';
import { EXIT } from '../exit-codes.js';
import { reportError, say } from '../output.js';

interface StripCliOptions {
  output?: string;
  watermarkKey?: string;
  overwrite?: boolean;
  json?: boolean;
}

async function stripCommand(input: string, o: StripCliOptions): Promise<number> {
  if (!o.output) throw new TamgaError('INVALID_OPTION', 'output: give -o <file>', { option: 'output' });
  const key = o.watermarkKey ?? process.env.TAMGA_WATERMARK_KEY;
  const r = await strip(input, { output: o.output, ...(key !== undefined ? { watermarkKey: key } : {}), overwrite: o.overwrite !== false });
  if (o.json) console.log(JSON.stringify({ input, output: o.output, removed: r.removed, bytes: r.bytes }, null, 2));
  else if (key !== undefined && r.removed === 0) say(`${input}: no watermark under this key; nothing written`);
  else say(`stripped ${input} -> ${o.output} (${r.removed} watermark cluster(s) removed)`);
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
      process.exitCode = await stripCommand(input, o).catch((e) => reportError(e, Boolean(o.json), input));
    });
}
