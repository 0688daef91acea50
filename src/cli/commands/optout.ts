import { Option, type Command } from 'commander';
import { writeBytesAtomically } from '../../core/edit.js';
import { addToSummary, emptySummary, iterateOptOut, type OptOutItem, type OptOutOptions, type OptOutSummary } from '../../optout/check.js';
import { OptOutLog } from '../../optout/log.js';
import { OPTOUT_PURPOSES, type OptOutPurpose, type OptOutSignal } from '../../optout/signals.js';
import { TamgaError } from '../../core/errors.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../output.js';

type ReportFormat = 'table' | 'json' | 'ndjson';

interface OptOutCliOptions {
  format: ReportFormat;
  output?: string;
  summary?: boolean;
  log?: string;
  root?: string;
  purpose: OptOutPurpose;
  failOnReserved?: boolean;
  json?: boolean;
}

const clip = (s: string, n = 140) => (s.length > n ? s.slice(0, n - 3) + '...' : s);
const signalLine = (s: OptOutSignal) => `  ${s.verdict.padEnd(8)} ${s.source.padEnd(21)} ${clip(s.value)}${s.policy ? ` (policy ${clip(s.policy, 80)})` : ''}  [${s.where}]`;

function tableRows(item: OptOutItem): string[] {
  const by = item.decisive ? `  by ${item.decisive.source}` : '';
  const rows = [`${item.verdict.padEnd(8)} ${item.item}${item.record ? ` (${item.file}@${item.record.offset})` : ''}${by}`];
  for (const s of item.signals) rows.push(signalLine(s));
  for (const n of item.notes ?? []) rows.push(`  note: ${n}`);
  if (item.error) rows.push(`  error: ${item.error.message} [${item.error.code}]`);
  return rows;
}

function summaryText(s: OptOutSummary, format: ReportFormat): string {
  if (format !== 'table') return JSON.stringify({ summary: s }, null, format === 'json' ? 2 : undefined);
  const by = Object.entries(s.decidedBy).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${s.total} work(s): ${s.reserved} reserved, ${s.allowed} allowed, ${s.unknown} unknown; ${s.errors} unreadable${by ? `\ndecided by: ${by}` : ''}`;
}

async function optoutCommand(paths: string[], o: OptOutCliOptions): Promise<number> {
  if (o.json) {
    if (o.format !== 'table' && o.format !== 'json') throw new TamgaError('INVALID_OPTION', `json: --json is --format json; it conflicts with --format ${o.format}`, { option: 'json' });
    o = { ...o, format: 'json' };
  }
  const opts: OptOutOptions = { purpose: o.purpose };
  if (o.root) opts.root = o.root;
  const log = o.log ? OptOutLog.open(o.log) : undefined;
  const summary = emptySummary();
  const collected: OptOutItem[] = [];
  // Per-work lines go to stdout as they come unless a file or a summary was asked for.
  const streamRows = !o.output && !o.summary && o.format !== 'json';
  try {
    for await (const item of iterateOptOut(paths, opts)) {
      addToSummary(summary, item);
      log?.append(item, o.purpose);
      if (streamRows) console.log(o.format === 'ndjson' ? JSON.stringify(item) : tableRows(item).join('\n'));
      else if (o.output || o.format === 'json') collected.push(item);
    }
  } finally {
    log?.close();
  }
  if (o.output) {
    const text = o.format === 'json' ? JSON.stringify(collected, null, 2) + '\n' : o.format === 'ndjson' ? collected.map((i) => JSON.stringify(i) + '\n').join('') : collected.map((i) => tableRows(i).join('\n') + '\n').join('');
    await writeBytesAtomically(o.output, Buffer.from(text, 'utf8'));
  } else if (o.format === 'json' && !o.summary) {
    console.log(JSON.stringify(collected, null, 2));
  }
  if (o.summary) console.log(summaryText(summary, o.format));
  if (summary.errors) return EXIT.INPUT;
  if (o.failOnReserved && summary.reserved) return EXIT.CHECK_FAILED;
  return EXIT.OK;
}

export function registerOptoutCommand(program: Command): void {
  program
    .command('optout')
    .description('check works for machine-readable training-data reservations (TDMRep, plus:DataMining, C2PA/CAWG, noai, robots.txt, ai.txt)')
    .argument('<paths...>', 'files, dataset directories (their root tdmrep.json / robots.txt / ai.txt apply) or WARC files')
    .addOption(new Option('--format <format>', 'report format').choices(['table', 'json', 'ndjson']).default('table'))
    .option('-o, --output <file>', 'write the per-work report to this file (written whole, atomically)')
    .option('--summary', 'print counts (reserved / allowed / unknown, and what decided) instead of per-work rows')
    .option('--log <file>', 'append one NDJSON audit record per work (SHA-256, time, tamga version, verdict, signals)')
    .option('--root <dir>', 'dataset root for file arguments (a directory argument is its own root)')
    .addOption(new Option('--purpose <purpose>', 'intended use: decides which reservations apply').choices([...OPTOUT_PURPOSES]).default('genai-training'))
    .option('--fail-on-reserved', 'exit 1 if any work is reserved (a pipeline gate)')
    .option('--json', 'same as --format json')
    .action(async (paths: string[], o: OptOutCliOptions) => {
      process.exitCode = await optoutCommand(paths, o).catch((e) => reportError(e, o.format !== 'table' || Boolean(o.json)));
    });
}
