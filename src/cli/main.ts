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
import { reportError } from './output.js';

/** The `tamga` command. Each subcommand lives in cli/commands/<name>.ts and registers itself here. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tamga')
    .description('Label AI-generated media (visible, metadata, C2PA, watermark) and find synthetic media that is not labelled.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
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
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(e, argv.includes('--json'));
  }
}

process.exitCode = await main(process.argv);
