import { readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import robotsParserModule from 'robots-parser';
import { contentUsageSignals, makeSignal, tdmrepSignal, type OptOutPurpose, type OptOutSignal } from './signals.js';

/**
 * Site-wide opt-out files at a dataset root, applied per file by its path below the root as if the
 * root were a web site's document root: `tdmrep.json` (or `.well-known/tdmrep.json`), `robots.txt`
 * and `ai.txt` (labelling-standards.md §9.1, §9.4-9.6).
 */

/** File names at a root that are opt-out statements, not works (a directory walk skips them). */
export const DATASET_POLICY_FILES = ['tdmrep.json', '.well-known/tdmrep.json', 'robots.txt', 'ai.txt'] as const;

/** RFC 9309 §2.5: crawlers must parse at least 500 KiB; tdmrep.json gets the same bound. */
const MAX_POLICY_FILE = 512 * 1024;

/**
 * Crawlers that collect AI training data (ai-robots-txt/ai.robots.txt, §9.4). Search and
 * user-triggered fetchers (OAI-SearchBot, ChatGPT-User, Claude-User...) do not train and are left out.
 */
export const AI_TRAINING_AGENTS: readonly string[] = [
  'GPTBot',
  'ClaudeBot',
  'anthropic-ai',
  'Google-Extended',
  'Applebot-Extended',
  'CCBot',
  'Bytespider',
  'meta-externalagent',
  'FacebookBot',
  'cohere-ai',
  'cohere-training-data-crawler',
  'Amazonbot',
  'DeepSeekBot',
  'YandexAdditional',
  'img2dataset',
  'LAIONDownloader',
  'Diffbot',
  'Timpibot',
];

/** The part of robots-parser we use. Its typings declare an ESM default export; at run time the CommonJS module is the function. */
interface RobotsRules {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getMatchingLineNumber(url: string, ua?: string): number;
}
const robotsParser = robotsParserModule as unknown as (url: string, contents: string) => RobotsRules;

export interface TdmrepRule {
  location: string;
  reservation: unknown;
  policy?: string;
  index: number;
}

/** A robots.txt-style path pattern: `*` is any run of characters, a final `$` anchors the end, otherwise a prefix. */
export function matchesPathPattern(pattern: string, path: string): boolean {
  const anchored = pattern.endsWith('$');
  const p = anchored ? pattern.slice(0, -1) : pattern + '*';
  // Greedy wildcard match with one backtrack point: linear in practice, O(n*m) at worst, no regex.
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < path.length) {
    if (pi < p.length && p[pi] !== '*' && p[pi] === path[si]) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** The URL path of a file below the root: `/` + its relative path with `/` separators, percent-encoded like a URL. */
export function urlPathBelow(root: string, file: string): string {
  return '/' + relative(root, file).split(sep).map(encodeURIComponent).join('/');
}

interface RobotsFile {
  where: string;
  robots: RobotsRules;
  /** Lower-cased user agents the file names in its groups; every other agent follows `*`. */
  named: Set<string>;
  contentUsage: { path?: string; prefs: string; line: number }[];
}

const BASE = 'https://dataset.invalid';

function readPolicyFile(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile()) return undefined;
    if (st.size > MAX_POLICY_FILE) throw new Error(`larger than ${MAX_POLICY_FILE} bytes`);
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function parseRobotsFile(text: string, where: string): RobotsFile {
  const contentUsage: RobotsFile['contentUsage'] = [];
  const named = new Set<string>();
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const ua = /^\s*user-agent\s*:\s*([^\s#/]+)/i.exec(raw);
    if (ua) named.add(ua[1]!.toLowerCase());
    const m = /^\s*content-usage\s*:\s*(.*?)\s*(?:#.*)?$/i.exec(raw);
    if (!m || !m[1]) return;
    const [first, ...rest] = m[1].split(/\s+/);
    if (first!.startsWith('/') && rest.length) contentUsage.push({ path: first!, prefs: rest.join(' '), line: i + 1 });
    else contentUsage.push({ prefs: m[1], line: i + 1 });
  });
  return { where, robots: robotsParser(`${BASE}/robots.txt`, text), named, contentUsage };
}

/** The opt-out files found at one dataset root, parsed once and applied to every file below it. */
export class DatasetPolicy {
  readonly root: string;
  /** Problems with the root's files; per TDMRep a protocol error means "unset", so they decide nothing. */
  readonly notes: string[] = [];
  private tdmrep: { where: string; rules: TdmrepRule[] } | undefined;
  private robotsTxt: RobotsFile | undefined;
  private aiTxt: RobotsFile | undefined;

  constructor(root: string) {
    this.root = root;
    for (const name of ['tdmrep.json', '.well-known/tdmrep.json']) {
      const where = join(root, name);
      const text = this.load(where);
      if (text !== undefined) {
        this.tdmrep = { where, rules: this.parseTdmrep(text, where) };
        break;
      }
    }
    const robots = this.load(join(root, 'robots.txt'));
    if (robots !== undefined) this.robotsTxt = parseRobotsFile(robots, join(root, 'robots.txt'));
    const ai = this.load(join(root, 'ai.txt'));
    if (ai !== undefined) this.aiTxt = parseRobotsFile(ai, join(root, 'ai.txt'));
  }

  /** True when the root holds at least one opt-out file. */
  get present(): boolean {
    return Boolean(this.tdmrep || this.robotsTxt || this.aiTxt);
  }

  /** Whether `file` is one of this root's opt-out files (not a work to report). */
  isPolicyFile(file: string): boolean {
    return DATASET_POLICY_FILES.some((n) => join(this.root, n) === file);
  }

  private load(path: string): string | undefined {
    try {
      return readPolicyFile(path);
    } catch (e) {
      this.notes.push(`${path}: unreadable (${(e as Error).message}); ignored`);
      return undefined;
    }
  }

  private parseTdmrep(text: string, where: string): TdmrepRule[] {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      this.notes.push(`${where}: not valid JSON (${(e as Error).message}); treated as unset, as TDMRep asks for protocol errors`);
      return [];
    }
    if (!Array.isArray(json)) {
      this.notes.push(`${where}: expected a JSON array of rules; treated as unset`);
      return [];
    }
    const rules: TdmrepRule[] = [];
    json.forEach((r: unknown, index) => {
      const o = r as Record<string, unknown> | null;
      if (!o || typeof o !== 'object' || typeof o.location !== 'string' || !('tdm-reservation' in o)) {
        this.notes.push(`${where}[${index}]: a rule needs "location" and "tdm-reservation"; skipped`);
        return;
      }
      const policy = typeof o['tdm-policy'] === 'string' ? o['tdm-policy'] : undefined;
      rules.push({ location: o.location, reservation: o['tdm-reservation'], index, ...(policy ? { policy } : {}) });
    });
    return rules;
  }

  /** Every dataset-level signal for a file below the root. */
  signalsFor(file: string, purpose: OptOutPurpose): OptOutSignal[] {
    const path = urlPathBelow(this.root, file);
    const out: OptOutSignal[] = [];
    if (this.tdmrep) {
      // Every matching rule is reported; the verdict takes the most restrictive, so a rule order
      // that lets a broad "0" shadow a narrower "1" cannot hide a reservation.
      for (const r of this.tdmrep.rules) {
        if (!matchesPathPattern(r.location, path)) continue;
        out.push(tdmrepSignal(purpose, 'tdmrep:json', r.reservation, r.policy, `${this.tdmrep.where}[${r.index}] location ${JSON.stringify(r.location)}`));
      }
    }
    if (this.robotsTxt) out.push(...robotsSignals(this.robotsTxt, 'robots.txt', path, purpose));
    if (this.aiTxt) out.push(...robotsSignals(this.aiTxt, 'ai.txt', path, purpose));
    return out;
  }
}

/**
 * A Disallow for an AI training crawler (directly or through `*`) reserves the path. An Allow is
 * permission to crawl, not a licence to train, so it yields no `allowed` signal.
 */
function robotsSignals(file: RobotsFile, source: 'robots.txt' | 'ai.txt', path: string, purpose: OptOutPurpose): OptOutSignal[] {
  const url = BASE + path;
  const out: OptOutSignal[] = [];
  const agents = source === 'ai.txt' ? ['*', ...AI_TRAINING_AGENTS] : AI_TRAINING_AGENTS;
  // Agents without a group of their own all follow `*`: ask once for them, then each named one.
  const byGroup = (a: string) => (file.named.has(a.toLowerCase()) ? a : '*');
  const asked = new Map<string, boolean>();
  const isBlocked = (a: string) => {
    const g = byGroup(a);
    if (!asked.has(g)) asked.set(g, file.robots.isAllowed(url, g) === false);
    return asked.get(g)!;
  };
  const blocked = agents.filter(isBlocked);
  if (blocked.length) {
    const lines = [...new Set(blocked.map((a) => file.robots.getMatchingLineNumber(url, byGroup(a))))].filter((n) => n > 0);
    const who = blocked.length === agents.length ? 'all AI training user agents' : blocked.join(', ');
    out.push(makeSignal(purpose, { source, stated: 'reserved', scope: 'ai-training', value: `Disallow ${path} for ${who}`, where: `${file.where}:${lines.join(',')}` }));
  }
  // aipref: the most specific Content-Usage line for the path decides (a path-less line is the default).
  const applicable = file.contentUsage.filter((c) => !c.path || matchesPathPattern(c.path, path));
  const best = applicable.reduce<(typeof applicable)[number] | undefined>((a, b) => (!a || (b.path?.length ?? 0) >= (a.path?.length ?? 0) ? b : a), undefined);
  if (best) out.push(...contentUsageSignals(purpose, best.prefs, `${file.where}:${best.line}`));
  return out;
}
