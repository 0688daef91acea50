// Reads C2PA reports in a worker thread for test/metadata/c2pa-order.test.ts (tsx registered here, as bin/ts-worker.mjs does).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { readC2pa } = await import(new URL('../../src/metadata/c2pa.ts', import.meta.url).href);
const out = [];
for (const f of workerData.files) out.push(await readC2pa(new Uint8Array(f.bytes), f.format, workerData.opts));
parentPort.postMessage(out);
