import type { Command } from 'commander';
import { detect } from '../../api.js';
import { resolveTrustAnchors } from '../../metadata/c2pa.js';
import { isTamgaError, TamgaError } from '../../core/errors.js';
import type { DetectResult } from '../../core/types.js';
import { closeLedgerReader, ledgerReader } from '../../ledger/index.js';
import { hasMachineReadableLabel } from '../../verify/labels.js';
import { ledgerFinding } from '../../verify/signals/ledger.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { cliMessage, cliWatermarkKeys, collect, formatFinding, reportError } from '../output.js';
import { STDIO, withStdio } from '../stdio.js';

async function detectCommand(files: string[], o: { json?: boolean; labelsOnly?: boolean; requireLabel?: boolean; trustAnchors?: string; visible?: boolean; ocr?: boolean; watermarkKey?: string[]; ledger?: string }): Promise<number> {
  const results: (DetectResult | { source: string; error: ReturnType<TamgaError['toJSON']> })[] = [];
  let code: number = EXIT.OK;
  // Read once for all files; a bad bundle is a usage error before any file is looked at.
  const trustAnchors = o.trustAnchors ? resolveTrustAnchors(o.trustAnchors) : undefined;
  // Every key given is tried on each file (decoded once); the environment adds one.
  const watermarkKeys = cliWatermarkKeys(o.watermarkKey);
  // Opened once for all files, read-only; a bad ledger fails before any file.
  const ledger = o.ledger ? ledgerReader(o.ledger) : undefined;
  if (files.filter((f) => f === STDIO).length > 1) throw new TamgaError('INVALID_OPTION', 'input: - (stdin) can be given once', { option: 'input' });
  for (const file of files) {
    try {
      // The result names the file as given (`-` for stdin), never the temp file stdin was spooled to.
      const r = { ...(await withStdio(file, undefined, (path) => detectOne(path))), source: file };
      results.push(r);
      if (!o.json) {
        const labelled = hasMachineReadableLabel(r);
        console.log(`${file}: ${r.format} ${r.kind}, ${r.findings.length} finding(s)${labelled ? ', AI label present' : ', no machine-readable AI label'}`);
        for (const f of r.findings) console.log(formatFinding(f));
      }
    } catch (e) {
      if (!isTamgaError(e)) throw e;
      const message = cliMessage(e, file);
      results.push({ source: file, error: { ...e.toJSON(), message } });
      if (!o.json) console.error(`tamga: ${message} [${e.code}]`);
      code = Math.max(code, exitCodeFor(e.code));
    }
  }
  if (o.ledger) closeLedgerReader(o.ledger);
  if (o.json) console.log(JSON.stringify(results, null, 2));
  return code;

  async function detectOne(file: string): Promise<DetectResult> {
    const r = await detect(file, {
      ...(o.labelsOnly ? { labelsOnly: true } : {}),
      ...(o.trustAnchors ? { trustAnchors } : {}),
      ...(o.visible === false ? { visible: false } : {}),
      ...(o.ocr ? { ocr: true } : {}),
      ...(watermarkKeys.length ? { watermarkKeys } : {}),
    });
    const match = ledger && r.kind ? await ledger.lookup(r.kind, r.format, { path: file }).catch((e: unknown) => {
      // Undecodable media has no fingerprint (no finding); a failing ledger is reported.
      if (isTamgaError(e) && e.code === 'LEDGER_FAILED') throw e;
      return undefined;
    }) : undefined;
    if (match) r.findings.push(ledgerFinding(match));
    if (o.requireLabel && !hasMachineReadableLabel(r) && code === EXIT.OK) code = EXIT.CHECK_FAILED;
    return r;
  }
}

export function registerDetectCommand(program: Command): void {
  program
    .command('detect')
    .description('report every label and AI signal found in the files (metadata, plus a pixel scan for visible badges; nothing written)')
    .argument('<files...>', 'files to inspect (- reads one from stdin)')
    .option('--labels-only', 'only label findings, not raw text chunks / EXIF hints')
    .option('--require-label', 'exit 1 if any file has no machine-readable AI label')
    .option('--json', 'print the results as JSON')
    .option('--no-visible', 'do not scan the pixels for tamga badges (headers and metadata only)')
    .option('--ocr', 'also read the pixels with OCR for third-party disclosures ("AI-generated", "Made with AI"...)')
    .option('--watermark-key <key>', 'look for tamga watermarks (text, images, audio, video) made with this key (repeatable; $TAMGA_WATERMARK_KEY adds one)', collect)
    .option('--trust-anchors <pem>', 'PEM bundle of trusted C2PA roots (default: none, so intact manifests are reported untrusted)')
    .option('--ledger <file>', 'also look the files up in this ledger (`label --ledger`): a `ledger-match` finding for a recorded output or a copy of one')
    .action(async (files: string[], o: { json?: boolean; labelsOnly?: boolean; requireLabel?: boolean; trustAnchors?: string; visible?: boolean; ocr?: boolean; watermarkKey?: string[]; ledger?: string }) => {
      process.exitCode = await detectCommand(files, o).catch((e) => reportError(e, Boolean(o.json)));
    });

}
