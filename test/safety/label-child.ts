/**
 * Child process for the kill -9 test: labels the given files over and over (one in place, one to
 * an output path) until it is killed. Prints "ready" once the first label has started.
 */
import { label } from '../../src/api.js';

const [inPlaceFile, input, output] = process.argv.slice(2) as [string, string, string];
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  await label(inPlaceFile, { contentId: `kill-${i}` }, { inPlace: true, visible: false });
  await label(input, { contentId: `out-${i}` }, { output, visible: false });
}
