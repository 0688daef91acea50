import type { Command } from 'commander';
import { TamgaError } from '../../core/errors.js';
import { startService } from '../../distributed/serve.js';
import { EXIT } from '../exit-codes.js';
import { cliWatermarkKeys, collect, reportError } from '../output.js';

interface ServeCliOptions {
  host: string;
  port: string;
  maxBody: string;
  concurrency: string;
  maxQueued: string;
  key?: string[];
  quiet?: boolean;
}


function int(option: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new TamgaError('INVALID_OPTION', `${option}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, { option });
  return n;
}

/** Serves until SIGTERM/SIGINT, then stops accepting and lets requests in progress finish. */
async function serveCommand(o: ServeCliOptions): Promise<number> {
  const keys = cliWatermarkKeys(o.key);
  const log = o.quiet ? undefined : (line: string) => console.error(`tamga serve: ${line}`);
  const service = await startService({
    host: o.host,
    port: int('port', o.port, 0, 65535),
    maxBodyBytes: int('max-body', o.maxBody, 1, Number.MAX_SAFE_INTEGER),
    concurrency: int('concurrency', o.concurrency, 1, 1024),
    maxQueued: int('max-queued', o.maxQueued, 0, 100_000),
    ...(keys.length ? { watermarkKeys: keys } : {}),
    ...(log ? { log } : {}),
  });
  // The first line on stdout is the address (a test or a supervisor reads it when --port 0).
  console.log(`tamga serve listening on ${service.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      service.server.close(() => resolve());
      service.server.closeIdleConnections();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return EXIT.OK;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('HTTP labelling service: POST /label and POST /verify with the file as the body, GET /health')
    .option('--host <addr>', 'address to listen on (loopback unless you choose otherwise)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port, printed on stdout)', '8787')
    .option('--max-body <bytes>', 'largest request body (413 past it)', String(100 * 1024 * 1024))
    .option('--concurrency <n>', 'requests processed at once', '2')
    .option('--max-queued <n>', 'requests waiting for a slot before 503', '16')
    .option('--key <key>', 'watermark key: /verify looks for it, /label embeds the first (repeatable; default $TAMGA_WATERMARK_KEY)', collect)
    .option('--quiet', 'no request log on stderr')
    .action(async (o: ServeCliOptions) => {
      process.exitCode = await serveCommand(o).catch((e) => reportError(e, false));
    });
}
