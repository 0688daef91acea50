/**
 * Distributed scans and labelling on BullMQ + Redis, and the HTTP labelling service. Kept out of
 * the main entry point (src/index.ts) so that apps which only label never load the queue code;
 * the package exports it as `tamga/distributed`.
 */
export { enqueueLabels, enqueueScan, type EnqueueLabelOptions, type EnqueueOptions, type EnqueueResult, type EnqueueScanOptions } from './enqueue.js';
export { checkJobName, DEFAULT_ATTEMPTS, DEFAULT_BATCH_SIZE, type LabelItem } from './jobs.js';
export { parseQueueUrl, type QueueAddress } from './redis.js';
export { JobReader, openJob, type JobProgress } from './report.js';
export { startService, commandSigner, openApiDocument, type RunningService, type ServeOptions } from './serve.js';
export { fetchSource, isTransient, registerSourceFetcher, TransientError, type FetchedSource, type FetchOptions, type SourceFetcher } from './sources.js';
export { startWorker, type RunningWorker, type WorkerOptions } from './worker.js';
