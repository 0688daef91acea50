import { resolve } from 'node:path';
import { TamgaError } from '../../core/errors.js';
import type { Policy } from '../../core/types.js';
import { enqueueScan } from '../../distributed/enqueue.js';
import { openJob } from '../../distributed/report.js';
import { redactQueueUrl } from '../../distributed/redis.js';
import { EXIT } from '../exit-codes.js';

/** The options of `tamga scan` that matter when the scan goes to a queue. */
export interface QueueScanCliOptions {
  queue: string;
  job?: string;
  follow?: boolean;
  batchSize?: string;
  attempts?: string;
  policy: string;
  include?: string[];
  exclude?: string[];
  timeout: string;
  deepfake?: boolean;
  visible: boolean;
  ocr?: boolean;
  trustAnchors?: string;
  ledger?: string;
  key?: string[];
  watermarkKey?: string[] | string;
  json?: boolean;
  format?: string;
  output?: string;
  resume?: string;
  progress: boolean;
}

function int(option: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new TamgaError('INVALID_OPTION', `${option}: expected a positive integer, got ${JSON.stringify(v)}`, { option });
  return Number(v);
}

/** `tamga scan --queue URL --job NAME`: streams the walk into the queue, then exits or follows the workers. */
export async function queueScanCommand(paths: string[], o: QueueScanCliOptions): Promise<number> {
  if (!o.job) throw new TamgaError('INVALID_OPTION', 'job: --queue needs --job <name> (the name `tamga report --job` gathers)', { option: 'job' });
  for (const [flag, set] of [['format', o.format], ['output', o.output], ['resume', o.resume]] as const) {
    if (set) throw new TamgaError('INVALID_OPTION', `${flag}: with --queue the report is written by \`tamga report --queue ... --job ${o.job}\`, not by scan`, { option: flag });
  }
  // As for a local scan: every key given is tried, and the environment adds one.
  const envKey = process.env['TAMGA_WATERMARK_KEY'];
  const watermarkKeys = [...new Set([...(o.key ?? []), ...[o.watermarkKey ?? []].flat(), ...(envKey ? [envKey] : [])])];
  const show = o.progress && process.stderr.isTTY;
  const batchSize = int('batch-size', o.batchSize);
  const attempts = int('attempts', o.attempts);
  const r = await enqueueScan(paths, {
    queue: o.queue,
    job: o.job,
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(attempts !== undefined ? { attempts } : {}),
    policy: o.policy as Policy,
    timeoutMs: int('timeout', o.timeout)!,
    visible: o.visible,
    ...(o.include ? { include: o.include } : {}),
    ...(o.exclude ? { exclude: o.exclude } : {}),
    ...(o.deepfake ? { deepfake: true } : {}),
    ...(o.ocr ? { ocr: true } : {}),
    ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
    // The workers open the ledger themselves: a path on the shared file system.
    ...(o.ledger ? { ledger: resolve(o.ledger) } : {}),
    ...(watermarkKeys.length ? { watermarkKeys } : {}),
    ...(show ? { onProgress: (n: number) => process.stderr.write(`\rqueued ${n} files`) } : {}),
  });
  if (show) process.stderr.write('\n');
  if (!o.follow) {
    if (o.json) console.log(JSON.stringify({ queue: o.queue, job: o.job, files: r.files, batches: r.batches }, null, 2));
    else console.log(`queued ${r.files} files in ${r.batches} batches as job ${o.job} on ${redactQueueUrl(o.queue)}; gather the results with: tamga report --queue ${redactQueueUrl(o.queue)} --job ${o.job}`);
    return EXIT.OK;
  }
  const reader = await openJob(o.queue, o.job);
  try {
    let last = '';
    const p = await reader.waitComplete(Number.MAX_SAFE_INTEGER, (p) => {
      const line = `${p.results}/${p.files} files, ${p.batchesDone}/${p.batches} batches done${p.batchesDead ? `, ${p.batchesDead} dead` : ''}`;
      if (line === last) return;
      last = line;
      if (show) process.stderr.write(`\r${line}`);
      else if (!o.json) console.error(line);
    });
    if (show) process.stderr.write('\n');
    if (o.json) console.log(JSON.stringify({ queue: o.queue, job: o.job, ...p }, null, 2));
    else console.log(`job ${o.job} complete: ${p.results} files with results, ${p.batchesDead} dead batches`);
    return EXIT.OK;
  } finally {
    await reader.close();
  }
}
