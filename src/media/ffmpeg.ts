import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { createHash } from 'node:crypto';
import { TamgaError } from '../core/errors.js';

/**
 * ffmpeg and ffprobe: FFMPEG_PATH / FFPROBE_PATH when set, else a system one of version 5.1 or
 * newer that is first on PATH, else the npm packages @ffmpeg-installer/ffmpeg and
 * @ffprobe-installer/ffprobe (see `toolChoice`). Every run passes its
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

type Tool = 'ffmpeg' | 'ffprobe';
const ENV_VAR: Record<Tool, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };
const BUNDLED_PACKAGE: Record<Tool, string> = { ffmpeg: '@ffmpeg-installer/ffmpeg', ffprobe: '@ffprobe-installer/ffprobe' };

/**
 * The oldest system ffmpeg/ffprobe preferred to the bundled one (Debian 12's 5.1). The npm builds
 * are 2018-2023 snapshots of 144 MB, kept as the fallback (optionalDependencies, so
 * `npm install --omit=optional` leaves them out where the system has a recent one).
 */
export const MIN_SYSTEM_VERSION: readonly [number, number] = [5, 1];

/** "ffmpeg version 5.1.9-0+deb12u1 Copyright..." -> [5, 1, 9]; "n7.1" -> [7, 1]; a git snapshot ("N-47683-g...") -> undefined. */
export function parseToolVersion(banner: string): number[] | undefined {
  const m = /^\S+ version n?(\d+)\.(\d+)(?:\.(\d+))?/.exec(banner.trimStart());
  return m ? [Number(m[1]), Number(m[2]), ...(m[3] !== undefined ? [Number(m[3])] : [])] : undefined;
}

const atLeast = (v: number[], min: readonly number[]) => (v[0]! !== min[0]! ? v[0]! > min[0]! : (v[1] ?? 0) >= min[1]!);

/** The first line of `bin -version`, or undefined when it cannot be run. */
function versionLine(bin: string): string | undefined {
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 10_000, windowsHide: true });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : undefined;
}

export interface ToolChoice {
  tool: Tool;
  path: string;
  /** FFMPEG_PATH/FFPROBE_PATH, a recent enough one on PATH, or the npm package. */
  source: 'env' | 'system' | 'bundled';
}

const choices = new Map<string, ToolChoice | null>();

/** Which binary runs `tool`: the environment variable, else a recent enough one on PATH, else the bundled one. */
export function toolChoice(tool: Tool): ToolChoice | undefined {
  const env = process.env[ENV_VAR[tool]];
  if (env) return { tool, path: env, source: 'env' };
  // Keyed by PATH: the answer is the same for the whole process unless PATH changes.
  const key = `${tool}\0${process.env.PATH ?? ''}`;
  if (!choices.has(key)) {
    let found: ToolChoice | null = null;
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const candidate = join(dir, process.platform === 'win32' ? `${tool}.exe` : tool);
      try {
        accessSync(candidate, constants.X_OK);
      } catch {
        continue;
      }
      const v = parseToolVersion(versionLine(candidate) ?? '');
      if (v && atLeast(v, MIN_SYSTEM_VERSION)) found = { tool, path: candidate, source: 'system' };
      break; // the first one on PATH is the one a shell would run; an old one there is not skipped for a later one
    }
    if (!found) {
      const bundled = installedBinary(BUNDLED_PACKAGE[tool]);
      if (bundled) found = { tool, path: bundled, source: 'bundled' };
    }
    choices.set(key, found);
  }
  return choices.get(key) ?? undefined;
}

function toolPath(tool: Tool): string {
  const c = toolChoice(tool);
  if (!c) {
    throw new TamgaError('FFMPEG_FAILED', `${tool} not found: install ffmpeg ${MIN_SYSTEM_VERSION.join('.')} or newer, set ${ENV_VAR[tool]}, or install ${BUNDLED_PACKAGE[tool]}`, { tool });
  }
  return c.path;
}

/** The ffmpeg binary: FFMPEG_PATH, else ffmpeg >= 5.1 on PATH, else the one @ffmpeg-installer/ffmpeg installed. */
export const ffmpegPath = (): string => toolPath('ffmpeg');

/** The ffprobe binary: FFPROBE_PATH, else ffprobe >= 5.1 on PATH, else the one @ffprobe-installer/ffprobe installed. */
export const ffprobePath = (): string => toolPath('ffprobe');

/** What `tamga --version --json` reports: the binary in use, where it came from, and its version line. */
export function toolReport(tool: Tool): { path: string; source: ToolChoice['source']; version?: string } | { error: string } {
  const c = toolChoice(tool);
  if (!c) return { error: `${tool} not found` };
  const line = versionLine(c.path);
  return { path: c.path, source: c.source, ...(line ? { version: line.replace(/^\S+ version /, '').split(' ')[0]! } : {}) };
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

/** Runs ffmpeg with `-hide_banner -nostdin`-style defaults prepended; `args` are passed verbatim. */
export function runFfmpeg(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const base = ['-hide_banner', '-loglevel', 'error', '-nostats'];
  return runTool('ffmpeg', ffmpegPath(), [...base, ...(opts.stdin ? [] : ['-nostdin']), ...args], opts);
}

/** Runs ffprobe with raw arguments (tests and tools that want a specific -show_entries). */
export function runFfprobe(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runTool('ffprobe', ffprobePath(), ['-hide_banner', '-loglevel', 'error', ...args], opts);
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
