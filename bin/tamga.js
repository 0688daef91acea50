#!/usr/bin/env node
// Launcher: in a git checkout (src/ present) run the TypeScript directly through tsx, so
// `npm install && npx tamga ...` works without a build step; an installed package runs dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'cli', 'main.ts');
const dist = join(root, 'dist', 'cli', 'main.js');

async function main() {
  if (existsSync(src)) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return import(pathToFileURL(src).href);
    } catch (e) {
      if (!existsSync(dist)) {
        console.error(`tamga: cannot run the TypeScript sources (${e.message}); run \`npm install\` or \`npm run build\` first`);
        process.exit(70);
      }
    }
  }
  return import(pathToFileURL(dist).href);
}
await main();
