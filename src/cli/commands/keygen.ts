import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TamgaError } from '../../core/errors.js';
import { DEV_CHAIN_MARK, makeDevChain, type DevChain } from '../../metadata/c2pa-devcert.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../output.js';

/** File names in the output directory, in the order `label --cert/--key` and `detect --trust-anchors` take them. */
export const DEV_CHAIN_FILES = { chainPem: 'chain.pem', keyPem: 'key.pem', rootPem: 'root.pem' } as const satisfies Record<keyof DevChain, string>;

/** Writes a development chain into `dir` (created if missing); refuses to replace existing files unless `force`. */
export async function writeDevChain(dir: string, opts: { organisation?: string; force?: boolean } = {}): Promise<Record<keyof DevChain, string>> {
  const paths = Object.fromEntries(Object.entries(DEV_CHAIN_FILES).map(([k, f]) => [k, join(dir, f)])) as Record<keyof DevChain, string>;
  if (!opts.force) {
    const existing = Object.values(paths).filter((p) => existsSync(p));
    if (existing.length) throw new TamgaError('WRITE_FAILED', `${existing.join(', ')}: exists (pass --force to replace)`, { paths: existing });
  }
  const chain = await makeDevChain(opts.organisation ? { organisation: opts.organisation } : {});
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(paths.chainPem, chain.chainPem, { mode: 0o644 });
    writeFileSync(paths.rootPem, chain.rootPem, { mode: 0o644 });
    writeFileSync(paths.keyPem, chain.keyPem, { mode: 0o600 });
  } catch (e) {
    throw new TamgaError('WRITE_FAILED', `${dir}: ${(e as Error).message}`, { path: dir }, { cause: e });
  }
  return paths;
}

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description(`make a development ES256 chain for C2PA signing (${DEV_CHAIN_MARK}: validators report it untrusted)`)
    .requiredOption('--out <dir>', 'directory for chain.pem, key.pem and root.pem')
    .option('--org <name>', 'organisation name in the certificates')
    .option('--force', 'replace existing files')
    .option('--json', 'print the file paths as JSON')
    .action(async (o: { out: string; org?: string; force?: boolean; json?: boolean }) => {
      process.exitCode = await writeDevChain(o.out, { ...(o.org ? { organisation: o.org } : {}), force: Boolean(o.force) })
        .then((paths) => {
          if (o.json) console.log(JSON.stringify({ ...paths, trusted: false }, null, 2));
          else {
            console.log(`wrote a development C2PA chain (${DEV_CHAIN_MARK}):`);
            console.log(`  ${paths.chainPem}  signing certificate + root: label --c2pa --cert ${paths.chainPem}`);
            console.log(`  ${paths.keyPem}  private key (mode 600): label --key ${paths.keyPem}`);
            console.log(`  ${paths.rootPem}  root: detect --trust-anchors ${paths.rootPem} reports your files valid`);
            console.log('No public validator trusts this chain; for production, get a certificate from a C2PA-conformant CA.');
          }
          return EXIT.OK;
        })
        .catch((e) => reportError(e, Boolean(o.json)));
    });
}
