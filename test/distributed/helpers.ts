import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TAMGA_BIN } from '../helpers.js';

export const REDIS_SERVER = process.env['REDIS_SERVER'] ?? '/usr/bin/redis-server';
export const hasRedis = existsSync(REDIS_SERVER);
if (!hasRedis) console.warn(`[tamga tests] ${REDIS_SERVER} not found: distributed queue tests are SKIPPED (apt-get install redis-server)`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * A throw-away redis-server on a free loopback port (or `port`): no persistence, its own temp dir;
 * `args` adds configuration (`--requirepass`, `--user`...).
 */
export async function startRedis(opts: { port?: number; args?: string[] } = {}): Promise<{ port: number; pid: number; url: (db?: number) => string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tamga-redis-'));
  const port = opts.port ?? (await freePort());
  const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(opts.args ?? [])], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await accepts(port))) throw new Error(`${REDIS_SERVER} did not start on port ${port}`);
  return {
    port,
    pid: proc.pid!,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CLI without blocking the test's event loop (the workers' logs keep flowing). */
export function tamga(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TAMGA_BIN, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export interface WorkerProcess {
  proc: ChildProcess;
  /** Everything it logged on stderr so far. */
  log: () => string;
  /** Resolves with the match once a log line matches. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** `tamga worker` in its own process. */
export function spawnWorker(cwd: string, queue: string, args: string[] = [], env: Record<string, string> = {}): WorkerProcess {
  const proc = spawn(process.execPath, [TAMGA_BIN, 'worker', '--queue', queue, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const waiters: (() => void)[] = [];
  proc.stderr!.on('data', (c: Buffer) => {
    text += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    log: () => text,
    exited,
    waitFor: (re, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker log never matched ${re}:\n${text}`)), timeoutMs);
        const check = () => {
          const m = text.match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else waiters.push(check);
        };
        check();
      }),
  };
}
