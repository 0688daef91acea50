import { createRequire } from 'node:module';

// package.json sits one level above both src/ and dist/, so the same relative path works in both.
const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export const VERSION: string = pkg.version;
/** Written as the claim generator / labeller name: `tamga/<version>`. */
export const TOOL_ID = `tamga/${VERSION}`;
