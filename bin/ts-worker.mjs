// Worker-thread entry used in a git checkout: the launcher registers tsx in the main thread only,
// so a worker registers it itself and then loads the TypeScript module named in its workerData.
// An installed package (dist/) loads the compiled worker module directly and never uses this.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const mod = await import(workerData.tsModule);
export default mod.default;
