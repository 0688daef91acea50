import type { Command } from 'commander';
import { detectWatermarkFile, embedWatermarkFile, parsePayloadHex } from '../../watermark/file.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../output.js';

/**
 * `tamga watermark embed|detect`: the invisible mark alone, with an explicit payload, as the
 * robustness harnesses call it. `label --watermark-key` uses the same mark as one layer, with the
 * payload derived from the content id.
 */
export function registerWatermarkCommand(program: Command): void {
  const wm = program.command('watermark').description('embed or detect the keyed invisible watermark alone (image, audio, video)');

  wm.command('embed')
    .description('embed a 64-bit payload under a key')
    .argument('<input>', 'image, audio or video file')
    .requiredOption('-o, --output <file>', 'where to write the watermarked file')
    .requiredOption('--key <key>', 'the secret key (e.g. 32 hex digits)')
    .requiredOption('--payload <hex>', 'the payload: 16 hex digits')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: { output: string; key: string; payload: string; json?: boolean }) => {
      process.exitCode = await (async () => {
        const r = await embedWatermarkFile(input, o.output, o.key, parsePayloadHex(o.payload));
        if (o.json) console.log(JSON.stringify({ input, output: o.output, ...r, payload: o.payload.toLowerCase() }, null, 2));
        else console.log(`watermarked ${input} -> ${o.output} (${r.format})`);
        return EXIT.OK;
      })().catch((e) => reportError(e, Boolean(o.json)));
    });

  wm.command('detect')
    .description('print the payload found under the key (nothing if none); exit 0 when found, 1 when not')
    .argument('<input>', 'image, audio or video file')
    .requiredOption('--key <key>', 'the secret key')
    .option('--detect-speed', 'audio: also search playback speeds within ±5% (a sped-up or slowed-down copy); about 20x slower when nothing is found')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: { key: string; detectSpeed?: boolean; json?: boolean }) => {
      process.exitCode = await (async () => {
        const hit = await detectWatermarkFile(input, o.key, { speedSearch: Boolean(o.detectSpeed) });
        const payload = hit ? Buffer.from(hit.payload).toString('hex') : undefined;
        if (o.json) console.log(JSON.stringify({ input, found: Boolean(hit), ...(hit ? { payload, pValue: hit.pValue, ...(hit.speed !== undefined && hit.speed !== 1 ? { speed: hit.speed } : {}) } : {}) }, null, 2));
        else if (payload) console.log(payload);
        return hit ? EXIT.OK : EXIT.CHECK_FAILED;
      })().catch((e) => reportError(e, Boolean(o.json)));
    });
}
