import type { Command } from 'commander';
import { DEV_CHAIN_MARK, writeDevChain } from '../../index.js';
import { EXIT } from '../exit-codes.js';
import { reportError, say } from '../output.js';

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
            say(`wrote a development C2PA chain (${DEV_CHAIN_MARK}):`);
            say(`  ${paths.chainPem}  signing certificate + root: label --c2pa --c2pa-cert ${paths.chainPem}`);
            say(`  ${paths.keyPem}  private key (mode 600): label --c2pa-key ${paths.keyPem}`);
            say(`  ${paths.rootPem}  root: detect --trust-anchors ${paths.rootPem} reports your files valid`);
            say('No public validator trusts this chain; for production, get a certificate from a C2PA-conformant CA.');
          }
          return EXIT.OK;
        })
        .catch((e) => reportError(e, Boolean(o.json)));
    });
}
