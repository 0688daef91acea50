import type { Command } from 'commander';
import { TamgaError } from '../../core/errors.js';
import { detectWatermarkFile, embedWatermarkFile, parsePayloadHex } from '../../index.js';
import { EXIT } from '../exit-codes.js';
import { deprecatedAliases, reportError, say } from '../output.js';
import { STDIO, withStdio } from '../stdio.js';

/** --watermark-key, else $TAMGA_WATERMARK_KEY (the quiet way: a key on the command line shows in process lists). */
function keyOf(o: { watermarkKey?: string }): string {
  const key = o.watermarkKey ?? process.env['TAMGA_WATERMARK_KEY'];
  if (!key) throw new TamgaError('INVALID_OPTION', 'watermarkKey: give --watermark-key <key> or set $TAMGA_WATERMARK_KEY', { option: 'watermarkKey' });
  return key;
}

const KEY_ALIAS = [{ flags: '--key <key>', from: 'key', to: 'watermarkKey', toFlag: '--watermark-key', apiOption: 'watermarkKey' }];

/**
 * `tamga watermark embed|detect`: the invisible mark alone, with an explicit payload, as the
 * robustness harnesses call it. `label --watermark-key` uses the same mark as one layer, with the
 * payload derived from the content id.
 */
export function registerWatermarkCommand(program: Command): void {
  const wm = program.command('watermark').description('embed or detect the keyed invisible watermark alone (image, audio, video)');

  const embed = wm
    .command('embed')
    .description('embed a 64-bit payload under a key')
    .argument('<input>', 'image, audio or video file (- reads stdin)')
    .requiredOption('-o, --output <file>', 'where to write the watermarked file (- for stdout)')
    .option('--watermark-key <key>', 'the secret key, e.g. 32 hex digits (default $TAMGA_WATERMARK_KEY)')
    .requiredOption('--payload <hex>', 'the payload: 16 hex digits')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: { output: string; watermarkKey?: string; payload: string; json?: boolean }) => {
      process.exitCode = await (async () => {
        const toStdout = o.output === STDIO;
        if (toStdout && o.json) throw new TamgaError('INVALID_OPTION', 'json: with -o - stdout carries the file; leave out --json', { option: 'json' });
        const key = keyOf(o);
        const payload = parsePayloadHex(o.payload);
        const r = await withStdio(input, o.output, (i, out) => embedWatermarkFile(i, out!, key, payload));
        if (o.json) console.log(JSON.stringify({ input, output: o.output, ...r, payload: o.payload.toLowerCase() }, null, 2));
        else say(`watermarked ${input} -> ${o.output} (${r.format})`, toStdout ? 'stderr' : 'stdout');
        return EXIT.OK;
      })().catch((e) => reportError(e, Boolean(o.json), input));
    });
  deprecatedAliases(embed, KEY_ALIAS);

  const detect = wm
    .command('detect')
    .description('print the payload found under the key (nothing if none); exit 0 when found, 1 when not')
    .argument('<input>', 'image, audio or video file (- reads stdin)')
    .option('--watermark-key <key>', 'the secret key (default $TAMGA_WATERMARK_KEY)')
    .option('--detect-speed', 'audio: also search playback speeds within ±5% (a sped-up or slowed-down copy); about 20x slower when nothing is found')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: { watermarkKey?: string; detectSpeed?: boolean; json?: boolean }) => {
      process.exitCode = await (async () => {
        const key = keyOf(o);
        const hit = await withStdio(input, undefined, (i) => detectWatermarkFile(i, key, { speedSearch: Boolean(o.detectSpeed) }));
        const payload = hit ? Buffer.from(hit.payload).toString('hex') : undefined;
        if (o.json) console.log(JSON.stringify({ input, found: Boolean(hit), ...(hit ? { payload, pValue: hit.pValue, ...(hit.speed !== undefined && hit.speed !== 1 ? { speed: hit.speed } : {}) } : {}) }, null, 2));
        else if (payload) console.log(payload);
        return hit ? EXIT.OK : EXIT.CHECK_FAILED;
      })().catch((e) => reportError(e, Boolean(o.json), input));
    });
  deprecatedAliases(detect, KEY_ALIAS);
}
