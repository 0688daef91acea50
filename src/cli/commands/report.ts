import type { Command } from 'commander';
import { TamgaError } from '../../core/errors.js';
import { fileSink, REPORT_FORMATS, reporterFor, streamSink, type ReportFormat } from '../../verify/reports/index.js';
import { EXIT } from '../exit-codes.js';
import { list, reportError } from '../output.js';
import { DEFAULT_FAIL_ON, parseFailOn } from './scan.js';

interface ReportCliOptions {
  queue: string;
  job: string;
  format?: string;
  json?: boolean;
  output?: string;
  failOn?: string[];
  wait: string;
  partial?: boolean;
  purge?: boolean;
}

/** `tamga report`: waits for a queued job, then writes the verifier's report of it, sorted by path. */
async function reportCommand(o: ReportCliOptions): Promise<number> {
  const format = (o.json ? 'json' : (o.format ?? 'table')) as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new TamgaError('INVALID_OPTION', `format: expected one of ${REPORT_FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`, { option: 'format' });
  const failOn = parseFailOn(o.failOn?.length ? o.failOn : DEFAULT_FAIL_ON);
  const waitSeconds = Number(o.wait);
  if (!/^\d+$/.test(o.wait.trim())) throw new TamgaError('INVALID_OPTION', `wait: expected seconds (0 = do not wait), got ${JSON.stringify(o.wait)}`, { option: 'wait' });
  // The queue client (bullmq, ioredis) is loaded by the commands that use it, not at every start-up.
  const { openJob } = await import('../../distributed/report.js');
  const job = await openJob(o.queue, o.job);
  try {
    if (!o.partial) await job.waitComplete(waitSeconds * 1000);
    const sink = o.output ? await fileSink(o.output) : undefined;
    let failed = false;
    try {
      if ((await job.type()) === 'label') {
        // A labelling job's results: one JSON record per input ({ source, output, layers, contentId } or { source, error }).
        if (format !== 'json' && format !== 'ndjson') throw new TamgaError('INVALID_OPTION', `format: ${o.job} is a labelling job; its report is json or ndjson`, { option: 'format' });
        const out = sink ?? streamSink(process.stdout);
        const records: unknown[] = [];
        await job.recordDeadLetters();
        for await (const r of job.results<{ error?: unknown }>()) {
          if (r.error) failed = true;
          if (format === 'ndjson') await out.write(`${JSON.stringify(r)}\n`);
          else records.push(r);
        }
        if (format === 'json') await out.write(`${JSON.stringify({ schema: 'tamga.label-job/1', job: o.job, results: records }, null, 2)}\n`);
        await sink?.commit();
        if (o.purge) await job.purge();
        return failed ? EXIT.CHECK_FAILED : EXIT.OK;
      }
      const summary = await job.report(reporterFor(format, sink ?? streamSink(process.stdout)), failOn);
      failed = summary.failed;
      await sink?.commit();
    } catch (e) {
      await sink?.abort();
      throw e;
    }
    if (o.purge) await job.purge();
    return failed ? EXIT.CHECK_FAILED : EXIT.OK;
  } finally {
    await job.close();
  }
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('write the report of a queued scan (`tamga scan --queue`) once its workers are done: any format of `tamga scan`, sorted by path')
    .requiredOption('--queue <redis-url>', 'the Redis of the queue: redis://HOST:PORT/DB')
    .requiredOption('--job <name>', 'the name given to `tamga scan --job`')
    .option('--format <f>', `report format: ${REPORT_FORMATS.join(', ')} (default table)`)
    .option('--json', 'same as --format json')
    .option('-o, --output <file>', 'write the report to a file (temp file, renamed when complete)')
    .option('--fail-on <verdicts>', `exit 1 if any file gets one of these verdicts (default ${DEFAULT_FAIL_ON.join(',')}; none never fails)`, list)
    .option('--wait <seconds>', 'wait at most this long for the workers to finish (QUEUE_FAILED after it)', '86400')
    .option('--partial', 'do not wait: report the files that have results now')
    .option('--purge', "after writing the report, delete the job's results and dead-lettered batches from Redis")
    .action(async (o: ReportCliOptions) => {
      process.exitCode = await reportCommand(o).catch((e) => reportError(e, Boolean(o.json) || o.format === 'json'));
    });
}
