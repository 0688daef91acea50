import type { Command } from 'commander';
import { TamgaError } from '../../core/errors.js';
import { EXIT } from '../exit-codes.js';
import { cliWatermarkKeys, collect, deprecatedAliases, reportError } from '../output.js';

interface WorkerCliOptions {
  queue: string;
  concurrency: string;
  filesPerBatch: string;
  watermarkKey?: string[];
  quiet?: boolean;
}


function int(option: string, v: string, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > max) throw new TamgaError('INVALID_OPTION', `${option}: expected an integer from 1 to ${max}, got ${JSON.stringify(v)}`, { option });
  return n;
}

/**
 * Runs until SIGTERM or SIGINT: the first signal stops taking batches and lets the ones in hand
 * finish; a second one stops at once (its batches go back to the queue when their lock expires).
 */
async function workerCommand(o: WorkerCliOptions): Promise<number> {
  // The queue client (bullmq, ioredis) is loaded by the commands that use it, not at every start-up.
  const { parseQueueUrl, redactQueueUrl } = await import('../../distributed/redis.js');
  const { startWorker } = await import('../../distributed/worker.js');
  parseQueueUrl(o.queue);
  const keys = cliWatermarkKeys(o.watermarkKey);
  const log = o.quiet ? undefined : (line: string) => console.error(`tamga worker ${process.pid}: ${line}`);
  const worker = startWorker({
    queue: o.queue,
    concurrency: int('concurrency', o.concurrency, 256),
    filesPerBatch: int('files-per-batch', o.filesPerBatch, 256),
    ...(keys.length ? { watermarkKeys: keys } : {}),
    ...(log ? { log } : {}),
  });
  await worker.ready;
  log?.(`ready on ${redactQueueUrl(o.queue)}`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log?.(`${signal} again: stopping now; unfinished batches return to the queue when their lock expires`);
        void worker.close(true).finally(resolve);
        return;
      }
      stopping = true;
      log?.(`${signal}: finishing the batches in hand (send it again to stop at once)`);
      void worker.close().finally(resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  log?.('stopped');
  return EXIT.OK;
}

export function registerWorkerCommand(program: Command): void {
  const cmd = program
    .command('worker')
    .description('run queued scan and label batches (see `tamga scan --queue`) until SIGTERM/SIGINT')
    .requiredOption('--queue <redis-url>', 'the Redis of the queue: redis://HOST:PORT/DB')
    .option('--concurrency <n>', 'batches processed at once', '2')
    .option('--files-per-batch <n>', 'files of one batch verified at once', '4')
    .option('--watermark-key <key>', 'tamga watermark key for jobs queued without one (repeatable; default $TAMGA_WATERMARK_KEY)', collect)
    .option('--quiet', 'no log lines on stderr')
    .action(async (o: WorkerCliOptions) => {
      process.exitCode = await workerCommand(o).catch((e) => reportError(e, false));
    });
  deprecatedAliases(cmd, [{ flags: '--key <key>', from: 'key', to: 'watermarkKey', toFlag: '--watermark-key', apiOption: 'watermarkKey', repeatable: true }]);
}
