import { registerSignalDetector } from '../../src/verify/index.js';
import { signal } from '../../src/verify/signals/types.js';

/** A custom detector in its own module, registered with `module` so scan's worker threads load it too. */
registerSignalDetector({ id: 'test:shipped', detect: () => [signal('test:shipped', 'weak', {})] }, { module: import.meta.url });
