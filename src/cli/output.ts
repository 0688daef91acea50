import { Option, type Command } from 'commander';
import { isTamgaError, type TamgaError } from '../core/errors.js';
import type { Finding } from '../core/types.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Parses a comma-separated option value; repeatable options accumulate. */
export const list = (v: string, prev: string[] = []): string[] => prev.concat(v.split(',').map((s) => s.trim()).filter(Boolean));

/** Commander accumulator for a repeatable option whose values may contain commas (keys). */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Every watermark key a command was given (each repeat of its key options) plus $TAMGA_WATERMARK_KEY, each once. */
export function cliWatermarkKeys(...given: (readonly string[] | undefined)[]): string[] {
  const env = process.env['TAMGA_WATERMARK_KEY'];
  return [...new Set([...given.flatMap((g) => g ?? []), ...(env ? [env] : [])])];
}

// ---- verbosity: --quiet / --verbose on every command -------------------------------------------

let verbosity: 'quiet' | 'normal' | 'verbose' = 'normal';

export function setVerbosity(o: { quiet?: boolean; verbose?: boolean }): void {
  verbosity = o.quiet ? 'quiet' : o.verbose ? 'verbose' : 'normal';
}
export const isQuiet = (): boolean => verbosity === 'quiet';
export const isVerbose = (): boolean => verbosity === 'verbose';

/** A note or warning on stderr (not with --quiet). */
export function note(message: string): void {
  if (verbosity !== 'quiet') console.error(`tamga: ${message}`);
}

/** Detail only --verbose shows, on stderr. */
export function detail(message: string): void {
  if (verbosity === 'verbose') console.error(`tamga: ${message}`);
}

/** A result line on stdout for a person (not with --quiet; commands whose stdout is data print it to stderr). */
export function say(message: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
  if (verbosity === 'quiet') return;
  if (stream === 'stdout') console.log(message);
  else console.error(message);
}

// ---- flag names in messages --------------------------------------------------------------------

/** API option names (what TamgaError.details.option holds) as the CLI spells them. */
const FLAG_OF: Record<string, string> = {
  onExistingC2pa: '--on-c2pa',
  disclosureText: '--text',
  jsonFields: '--json-field',
  'c2pa.cert': '--c2pa-cert',
  'c2pa.key': '--c2pa-key',
  'c2pa.reserveTraining': '--reserve-training',
  watermarkKeys: '--watermark-key',
  key: '--watermark-key',
  timeoutMs: '--timeout',
  digitalSourceType: '--source-type',
  jurisdictions: '--jurisdiction',
  'audibleCue.everyMinutes': '--cue-every',
  'audibleCue.clip': '--cue-clip',
  'audibleCue.atEnd': '--no-cue-end',
  'onScreen.seconds': '--on-screen-seconds',
  'onScreen.crf': '--crf',
  'onScreen.preset': '--preset',
  output: '--output',
  // Arguments, not flags.
  input: 'input',
  paths: 'paths',
};

/** Spellings the user actually typed this run (a deprecated alias), by API option name. */
const typed = new Map<string, string>();

/** The flag for an API option name: the alias the user typed, the table above, else --kebab-case. */
export function flagFor(option: string): string {
  return typed.get(option) ?? FLAG_OF[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const NOT_ABOUT_THE_INPUT = new Set<string>(['INVALID_OPTION', 'WRITE_FAILED', 'LEDGER_FAILED', 'QUEUE_FAILED']);

/** The message with the API option it starts with replaced by the flag, and the file named once. */
export function cliMessage(e: TamgaError, file?: string): string {
  let m = e.message;
  const option = typeof e.details?.['option'] === 'string' ? (e.details['option'] as string) : undefined;
  if (option && m.startsWith(`${option}:`)) m = `${flagFor(option)}:${m.slice(option.length + 1)}`;
  // The input is named when the error is about it; an option or output error names its own subject.
  if (file && !m.includes(file) && !NOT_ABOUT_THE_INPUT.has(e.code)) m = `${file}: ${m}`;
  return m;
}

// ---- deprecated aliases ------------------------------------------------------------------------

export interface Alias {
  /** The old spelling, e.g. '--key <pem>' (hidden from --help). */
  flags: string;
  /** Its commander attribute name, e.g. 'key'. */
  from: string;
  /** The attribute it stands for, e.g. 'c2paKey', and that option's flag. */
  to: string;
  toFlag: string;
  /** The API option a message names when the value is bad (so the message names what was typed). */
  apiOption?: string;
  /** The option accumulates repeats (watermark keys). */
  repeatable?: boolean;
}

/**
 * Keeps old spellings working with a warning: the value moves to the new option before the action
 * runs (repeatable options accumulate), and a message about it names the spelling that was typed.
 */
export function deprecatedAliases(cmd: Command, aliases: Alias[], description: (a: Alias) => string = (a) => `deprecated: use ${a.toFlag}`): Command {
  for (const a of aliases) {
    const opt = new Option(a.flags, description(a)).hideHelp();
    cmd.addOption(a.repeatable ? opt.argParser(collect) : opt);
  }
  cmd.hook('preAction', (_self, action) => {
    const o = action.opts();
    for (const a of aliases) {
      const old = o[a.from];
      if (old === undefined) continue;
      note(`${a.flags.split(' ')[0]} is deprecated in \`tamga ${commandPath(action)}\`: use ${a.toFlag}`);
      const cur = o[a.to];
      action.setOptionValue(a.to, Array.isArray(cur) ? [...cur, ...(Array.isArray(old) ? old : [old])] : (cur ?? old));
      action.setOptionValue(a.from, undefined);
      if (a.apiOption) typed.set(a.apiOption, a.flags.split(' ')[0]!);
    }
  });
  return cmd;
}

function commandPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x && x.parent; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

// ---- errors ------------------------------------------------------------------------------------

/** A write into a closed pipe (`tamga scan ... | head`): the reader has all it wanted. */
export function isBrokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

/**
 * Errors go to stdout as JSON with --json (so a pipeline parses one stream), else to stderr.
 * `file` is named once in the message when the error does not name it. Returns the exit code.
 */
export function reportError(e: unknown, json: boolean, file?: string): number {
  if (isBrokenPipe(e)) return EXIT.OK;
  if (isTamgaError(e)) {
    const message = cliMessage(e, file);
    if (json) console.log(JSON.stringify({ error: { ...e.toJSON(), message } }, null, 2));
    else console.error(`tamga: ${message} [${e.code}]`);
    return exitCodeFor(e.code);
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (json) console.log(JSON.stringify({ error: { name: 'InternalError', code: 'INTERNAL', message: String(e instanceof Error ? e.message : e) } }, null, 2));
  console.error(`tamga: internal error (please report with the input file): ${msg}`);
  return EXIT.INTERNAL;
}

/** One finding as a table row for the terminal. */
export function formatFinding(f: Finding): string {
  let v: string;
  if (f.kind === 'xmp:iptc-digital-source-type') v = (f.value as { uri: string }).uri;
  else if (typeof f.value === 'string') v = f.value;
  else v = JSON.stringify(f.value);
  if (v && v.length > 120) v = v.slice(0, 117) + '...';
  const conf = f.confidence < 1 ? ` (confidence ${f.confidence})` : '';
  return `  ${f.layer.padEnd(9)} ${f.kind.padEnd(32)} ${v ?? ''}${conf}${f.where ? `  [${f.where}]` : ''}`;
}
