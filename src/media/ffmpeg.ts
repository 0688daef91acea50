import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { TamgaError } from '../core/errors.js';

/**
 * ffmpeg and ffprobe. Binaries come from the npm packages @ffmpeg-installer/ffmpeg and
 * @ffprobe-installer/ffprobe unless FFMPEG_PATH / FFPROBE_PATH name others. Every run passes its
 * arguments as an array to the process (never through a shell), and a failure is a TamgaError
 * `FFMPEG_FAILED` that carries the tail of the tool's stderr. The tools are spawned directly
 * rather than through fluent-ffmpeg: tamga builds every argument itself, needs the raw stdout
 * (framemd5, decoded PCM) and the full tag values (see `probe`).
 */

const require = createRequire(import.meta.url);

/** How much of stderr a failure keeps: the last lines name the cause, the banner before them does not. */
export const STDERR_TAIL_BYTES = 4096;

function installedBinary(pkg: string): string | undefined {
  try {
    return (require(pkg) as { path?: string }).path;
  } catch {
    return undefined;
  }
}

/** The ffmpeg binary: FFMPEG_PATH, else the one @ffmpeg-installer/ffmpeg installed. */
export function ffmpegPath(): string {
  const p = process.env.FFMPEG_PATH || installedBinary('@ffmpeg-installer/ffmpeg');
  if (!p) throw new TamgaError('FFMPEG_FAILED', 'ffmpeg not found: set FFMPEG_PATH or install @ffmpeg-installer/ffmpeg', { tool: 'ffmpeg' });
  return p;
}

/** The ffprobe binary: FFPROBE_PATH, else the one @ffprobe-installer/ffprobe installed. */
export function ffprobePath(): string {
  const p = process.env.FFPROBE_PATH || installedBinary('@ffprobe-installer/ffprobe');
  if (!p) throw new TamgaError('FFMPEG_FAILED', 'ffprobe not found: set FFPROBE_PATH or install @ffprobe-installer/ffprobe', { tool: 'ffprobe' });
  return p;
}

/** The last `max` bytes of a tool's stderr, cut at a line start so the message begins cleanly. */
export function stderrTail(stderr: string, max = STDERR_TAIL_BYTES): string {
  const s = stderr.trimEnd();
  if (s.length <= max) return s;
  const cut = s.slice(-max);
  const nl = cut.indexOf('\n');
  return nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
}

/**
 * A local path as an ffmpeg URL: `file:` keeps a name such as `pipe:1`, `concat:a|b` or
 * `http://...` from being read as a protocol.
 */
export const fileUrl = (path: string): string => `file:${path}`;

export interface RunOptions {
  /** Bytes written to the tool's stdin (e.g. raw PCM for a filter), then stdin is closed. */
  stdin?: Uint8Array;
  /** Kill the process after this many ms (FFMPEG_FAILED with `timedOut`). Default: none. */
  timeoutMs?: number;
  /** Called with each stdout chunk instead of collecting stdout (for long decodes). */
  onStdout?: (chunk: Buffer) => void;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

function runTool(tool: 'ffmpeg' | 'ffprobe', bin: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args as string[], { stdio: ['pipe', 'pipe', 'pipe'], shell: false, windowsHide: true });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = opts.timeoutMs ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), opts.timeoutMs) : undefined;
    child.stdout.on('data', (c: Buffer) => (opts.onStdout ? opts.onStdout(c) : out.push(c)));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      // Keep memory bounded on chatty runs: only the tail is ever reported.
      if (err.length > 8 * STDERR_TAIL_BYTES) err = err.slice(-2 * STDERR_TAIL_BYTES);
    });
    // An early exit (bad input) closes stdin under us; the exit code reports the real failure.
    child.stdin.on('error', () => undefined);
    if (opts.stdin) child.stdin.end(opts.stdin);
    else child.stdin.end();
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(new TamgaError('FFMPEG_FAILED', `${tool}: cannot run ${bin}: ${e.code ?? e.message}`, { tool, binary: bin, errno: e.code }, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) return resolvePromise({ stdout: Buffer.concat(out), stderr: err });
      const tail = stderrTail(err);
      const why = timedOut ? `timed out after ${opts.timeoutMs} ms` : signal ? `killed by ${signal}` : `exit code ${code}`;
      reject(new TamgaError('FFMPEG_FAILED', `${tool} failed (${why}): ${tail.split('\n').slice(-3).join(' | ') || 'no message'}`, {
        tool,
        exitCode: code,
        ...(signal ? { signal } : {}),
        ...(timedOut ? { timedOut: true } : {}),
        stderr: tail,
      }));
    });
  });
}

/** Inputs and outputs that are not local files: stdin/stdout pipes and `-`. */
const PIPE = /^(?:pipe:\d*|-)$/;

/**
 * The `file:` rule, applied here for every caller: each `-i` input and the output (the last
 * argument) that is a local path becomes a `file:` URL, so a file named `concat:a|b` or `http:...`
 * is read as a file, never as a protocol. Pipes, `file:` URLs already made, and the filter-graph
 * sources of `-f lavfi` are left as they are.
 */
export function withFileUrls(args: readonly string[], hasOutput: boolean): string[] {
  const out = [...args];
  const asFile = (i: number) => {
    const a = out[i]!;
    if (!PIPE.test(a) && !a.startsWith('file:')) out[i] = fileUrl(a);
  };
  for (let i = 0; i + 1 < out.length; i++) {
    if (out[i] !== '-i') continue;
    const lavfi = i >= 2 && out[i - 2] === '-f' && out[i - 1] === 'lavfi';
    if (!lavfi) asFile(i + 1);
    i++;
  }
  const last = out.length - 1;
  if (hasOutput && last > 0 && !out[last]!.startsWith('-') && out[last - 1] !== '-i') asFile(last);
  return out;
}

/** Runs ffmpeg with `-hide_banner -nostdin`-style defaults prepended; local paths follow the `file:` rule (withFileUrls). */
export function runFfmpeg(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const base = ['-hide_banner', '-loglevel', 'error', '-nostats'];
  return runTool('ffmpeg', ffmpegPath(), [...base, ...(opts.stdin ? [] : ['-nostdin']), ...withFileUrls(args, true)], opts);
}

/**
 * Starts ffmpeg for a streaming pipeline (frames through stdin/stdout) under the same rules as
 * runFfmpeg; the caller owns the process and its pipes.
 */
export function spawnFfmpeg(args: readonly string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe']): ChildProcess {
  return spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', ...(stdio[0] === 'ignore' ? ['-nostdin'] : []), ...withFileUrls(args, true)], { stdio, shell: false, windowsHide: true });
}

/** Runs ffprobe (tests and tools that want a specific -show_entries); `-i` paths follow the `file:` rule. */
export function runFfprobe(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runTool('ffprobe', ffprobePath(), ['-hide_banner', '-loglevel', 'error', ...withFileUrls(args, false)], opts);
}

export interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  duration?: string;
  tags?: Record<string, string>;
  [key: string]: unknown;
}

export interface ProbeData {
  streams: ProbeStream[];
  format: { format_name?: string; duration?: string; size?: string; tags?: Record<string, string>; [key: string]: unknown };
}

/**
 * ffprobe's view of a file (streams, format, tags), from its JSON writer. fluent-ffmpeg's
 * `ffprobe()` is not used: it parses the default text output line by line, which cuts a
 * multi-line tag (a two-language disclosure comment) at its first newline.
 */
export async function probe(path: string): Promise<ProbeData> {
  const { stdout } = await runFfprobe(['-show_format', '-show_streams', '-of', 'json', '-i', fileUrl(path)]);
  return JSON.parse(stdout.toString('utf8')) as ProbeData;
}

/** One level of av_get_token quoting: `specials` and `\\` backslashed, edge whitespace too (the tokenizer trims it). */
function escapeTokenLevel(s: string, specials: RegExp): string {
  const body = s.replace(specials, (c) => `\\${c}`);
  const lead = /^\s*/.exec(body)![0];
  const trail = body.length > lead.length ? /\s*$/.exec(body)![0] : '';
  const core = body.slice(lead.length, body.length - trail.length);
  const esc = (ws: string) => ws.replace(/\s/g, (c) => `\\${c}`);
  return esc(lead) + core + esc(trail);
}

/**
 * Escapes text for a filtergraph option value (ffmpeg-filters "Notes on filtergraph escaping"):
 * level 1 escapes the option value (`\`, `'`, `:`), level 2 the filter description (`\`, `'`,
 * `[`, `]`, `,`, `;`); leading and trailing whitespace is escaped at both, since the tokenizer
 * trims it. drawtext also expands `%{...}` with `\` as its escape, so with `drawtext` that level
 * comes first. Newlines pass through: drawtext draws them as line breaks.
 */
export function escapeFilterValue(text: string, opts: { drawtext?: boolean } = {}): string {
  const expanded = opts.drawtext ? text.replace(/[\\%]/g, (c) => `\\${c}`) : text;
  return escapeTokenLevel(escapeTokenLevel(expanded, /[\\':]/g), /[\\'[\],;]/g);
}

/** A decoded-content fingerprint: ffmpeg's framemd5 of every stream, packets decoded (or copied with `copy`). */
export async function frameMd5(path: string, opts: { copy?: boolean; streams?: string } = {}): Promise<string[]> {
  const args = ['-i', fileUrl(path), '-map', opts.streams ?? '0', ...(opts.copy ? ['-c', 'copy'] : []), '-f', 'framemd5', '-'];
  const { stdout } = await runFfmpeg(args);
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

/** SHA-256 of the decoded PCM of the first audio stream (s16le at its own rate and layout). */
export async function decodedPcmSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await runFfmpeg(['-i', fileUrl(path), '-map', '0:a:0', '-f', 's16le', '-acodec', 'pcm_s16le', '-'], { onStdout: (c) => h.update(c) });
  return h.digest('hex');
}
