/**
 * A queue worker whose verifier stores a fixed verdict without reading the file (injected through
 * WorkerOptions.verify), so bench/distributed.ts can time the queue alone.
 * Run: tsx bench/noop-worker.ts <queue url>
 */
import { startWorker } from '../src/distributed/worker.js';
import type { FileVerdict } from '../src/verify/types.js';

const queue = process.argv[2];
if (!queue) throw new Error('usage: tsx bench/noop-worker.ts <queue url>');
const fixed = async (path: string, opts: { policy?: FileVerdict['policy'] }): Promise<FileVerdict> => ({ path, verdict: 'not-synthetic', policy: opts.policy ?? 'kz', synthetic: null, missing: [], requirements: [], evidence: [], labels: [] });
const worker = startWorker({ queue, concurrency: 2, filesPerBatch: 8, verify: fixed });
await worker.ready;
process.stderr.write(`tamga noop worker ready on ${queue}\n`);
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
