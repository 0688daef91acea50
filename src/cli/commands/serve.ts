import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fsErrorText, TamgaError } from '../../core/errors.js';
import type { C2paLabelOptions } from '../../core/types.js';
import { commandSigner, startService } from '../../distributed/serve.js';
import type { C2paSigningAlg } from '../../metadata/cose.js';
import { EXIT } from '../exit-codes.js';
import { cliWatermarkKeys, collect, deprecatedAliases, reportError } from '../output.js';

interface ServeCliOptions {
  host: string;
  port: string;
  maxBody: string;
  concurrency: string;
  maxQueued: string;
  watermarkKey?: string[];
  c2paCert?: string;
  c2paKey?: string;
  c2paSignerCommand?: string;
  c2paAlg?: string;
  token?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/** The signing the service does: a PEM pair, or a signer command (a KMS) with the certificate chain. */
function serveC2pa(o: ServeCliOptions): C2paLabelOptions | undefined {
  if (o.c2paSignerCommand) {
    if (!o.c2paCert) throw new TamgaError('INVALID_OPTION', 'c2paSignerCommand: needs --c2pa-cert <chain.pem> (the certificates the signature is checked with)', { option: 'c2paSignerCommand' });
    if (o.c2paKey) throw new TamgaError('INVALID_OPTION', 'c2paKey: give either --c2pa-key or --c2pa-signer-command, not both', { option: 'c2paKey' });
    const pem = readPem(o.c2paCert, 'c2paCert');
    return { signer: commandSigner(o.c2paSignerCommand.trim().split(/\s+/), pem, (o.c2paAlg ?? 'es256') as C2paSigningAlg) };
  }
  if (!o.c2paCert && !o.c2paKey) return undefined;
  if (!o.c2paCert || !o.c2paKey) throw new TamgaError('INVALID_OPTION', 'c2pa: signing needs both --c2pa-cert <chain.pem> and --c2pa-key <key.pem> (or --c2pa-signer-command)', { option: 'c2pa' });
  return { cert: o.c2paCert, key: o.c2paKey };
}

function readPem(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TamgaError('INVALID_OPTION', `${option}: ${path}: ${fsErrorText(e, 'cannot be read')}`, { option });
  }
}


function int(option: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new TamgaError('INVALID_OPTION', `${option}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, { option });
  return n;
}

/** Serves until SIGTERM/SIGINT, then stops accepting and lets requests in progress finish. */
async function serveCommand(o: ServeCliOptions): Promise<number> {
  const keys = cliWatermarkKeys(o.watermarkKey);
  const log = o.quiet ? undefined : (line: string) => console.error(`tamga serve: ${line}`);
  const c2pa = serveC2pa(o);
  // The environment is the quiet way to pass the token (a flag shows in process lists).
  const token = o.token ?? process.env['TAMGA_SERVE_TOKEN'];
  const service = await startService({
    host: o.host,
    port: int('port', o.port, 0, 65535),
    maxBodyBytes: int('max-body', o.maxBody, 1, Number.MAX_SAFE_INTEGER),
    concurrency: int('concurrency', o.concurrency, 1, 1024),
    maxQueued: int('max-queued', o.maxQueued, 0, 100_000),
    ...(keys.length ? { watermarkKeys: keys } : {}),
    ...(c2pa ? { c2pa } : {}),
    ...(token ? { token } : {}),
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
  const cmd = program
    .command('serve')
    .description('HTTP labelling service: POST /label and POST /verify with the file as the body or a multipart form, GET /health, GET /openapi.json')
    .option('--host <addr>', 'address to listen on (loopback unless you choose otherwise)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port, printed on stdout)', '8787')
    .option('--max-body <bytes>', 'largest request body (413 past it)', String(100 * 1024 * 1024))
    .option('--concurrency <n>', 'requests processed at once', '2')
    .option('--max-queued <n>', 'requests waiting for a slot before 503', '16')
    .option('--watermark-key <key>', 'watermark key: /verify looks for it, /label embeds the first (repeatable; default $TAMGA_WATERMARK_KEY)', collect)
    .option('--c2pa-cert <pem>', 'sign a C2PA manifest on every /label output with this chain (signing certificate first)')
    .option('--c2pa-key <pem>', 'the private key of --c2pa-cert')
    .option('--c2pa-signer-command <cmd>', 'sign with this command instead of a key file (a KMS or HSM tool): the bytes to sign on its stdin, the signature on its stdout; split on spaces, no shell')
    .option('--c2pa-alg <alg>', 'the algorithm of --c2pa-signer-command: es256 (default), es384, es512, ps256, ps384, ps512, ed25519')
    .option('--token <token>', 'require Authorization: Bearer <token> on every route but /health (default $TAMGA_SERVE_TOKEN; at least 16 characters)')
    .option('-q, --quiet', 'no request log on stderr')
    .action(async (o: ServeCliOptions) => {
      process.exitCode = await serveCommand(o).catch((e) => reportError(e, false));
    });
  deprecatedAliases(cmd, [{ flags: '--key <key>', from: 'key', to: 'watermarkKey', toFlag: '--watermark-key', apiOption: 'watermarkKeys', repeatable: true }]);
}
