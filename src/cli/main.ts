import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDetectCommand } from './commands/detect.js';
import { registerKeygenCommand } from './commands/keygen.js';
import { registerLabelCommand } from './commands/label.js';
import { registerOptoutCommand } from './commands/optout.js';
import { registerReportCommand } from './commands/report.js';
import { registerScanCommand } from './commands/scan.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStripCommand } from './commands/strip.js';
import { registerWatermarkCommand } from './commands/watermark.js';
import { registerWorkerCommand } from './commands/worker.js';
import { EXIT } from './exit-codes.js';
import { isBrokenPipe, reportError, setVerbosity } from './output.js';

/** Every command that runs something (not a group such as `watermark`). */
function leaves(c: Command): Command[] {
  return c.commands.length ? c.commands.flatMap(leaves) : [c];
}

/** Set by main() before parsing: usage errors are then one JSON object on stdout. */
let usageAsJson = false;

/** The `tamga` command. Each subcommand lives in cli/commands/<name>.ts and registers itself here. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tamga')
    .description('Label AI-generated media (visible, metadata, C2PA, watermark) and find synthetic media that is not labelled.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    // Commander's own messages (unknown option, bad choice, missing argument): silent with --json,
    // where main() prints them as a JSON error instead.
    .configureOutput({ writeErr: (s) => (usageAsJson ? undefined : process.stderr.write(s)), outputError: (s, write) => (usageAsJson ? undefined : write(s)) });
  registerLabelCommand(program);
  registerDetectCommand(program);
  registerDemoCommand(program);
  registerKeygenCommand(program);
  registerOptoutCommand(program);
  registerScanCommand(program);
  registerReportCommand(program);
  registerWorkerCommand(program);
  registerServeCommand(program);
  registerStripCommand(program);
  registerWatermarkCommand(program);
  for (const cmd of leaves(program)) {
    if (!cmd.options.some((o) => o.long === '--quiet')) cmd.option('-q, --quiet', 'no notes, warnings or progress on stderr, no result lines for a person (errors and asked-for output stay)');
    if (!cmd.options.some((o) => o.long === '--verbose')) cmd.option('-v, --verbose', 'more detail on stderr (each file of a batch, what was skipped)');
  }
  program.hook('preAction', (_self, action) => setVerbosity(action.opts()));
  return program;
}

/** `tamga --version --json`: the version, and which ffmpeg/ffprobe the audio and video layers run. */
async function versionJson(): Promise<string> {
  const { toolReport } = await import('../media/ffmpeg.js');
  return JSON.stringify({ name: 'tamga', version: VERSION, node: process.versions.node, ffmpeg: toolReport('ffmpeg'), ffprobe: toolReport('ffprobe') }, null, 2);
}

export async function main(argv: string[]): Promise<number> {
  const top = argv.slice(2);
  if (top.length === 2 && top.includes('--json') && (top.includes('--version') || top.includes('-V'))) {
    console.log(await versionJson());
    return EXIT.OK;
  }
  const json = top.includes('--json') || top.some((a, i) => a === '--format=json' || (a === '--format' && top[i + 1] === 'json'));
  usageAsJson = json;
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      if (e.exitCode === 0) return EXIT.OK;
      if (json) {
        const message = e.message.replace(/^error: /, '');
        console.log(JSON.stringify({ error: { name: 'TamgaError', code: 'INVALID_OPTION', message, details: { reason: e.code } } }, null, 2));
      }
      return EXIT.USAGE;
    }
    return reportError(e, json);
  }
}

// `tamga scan ... | head`: the reader closed the pipe because it has what it wanted. That ends the
// run quietly, with the exit code so far, instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: unknown) => {
    if (isBrokenPipe(e)) process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK);
    throw e;
  });
}

process.exitCode = await main(process.argv);
