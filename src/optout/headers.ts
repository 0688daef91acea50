import { contentUsageSignals, robotsDirectiveSignals, tdmrepSignal, type OptOutPurpose, type OptOutSignal } from './signals.js';

/** HTTP response headers as recorded: names as written, in order, repeats kept. */
export type HeaderList = readonly (readonly [name: string, value: string])[];

/** Upper bound on a recorded header block (servers refuse far less: 8-64 KiB). */
export const MAX_HEADER_BLOCK = 256 * 1024;

/**
 * Parses a recorded HTTP response head, as `curl -D file` or `wget --save-headers` write it. When
 * redirects were followed the file holds one block per response: the last one is the work's.
 * Obsolete line folding (RFC 9112 §5.2) is joined.
 */
export function parseHeaderBlock(text: string): HeaderList {
  const blocks = text.slice(0, MAX_HEADER_BLOCK).split(/\r?\n\r?\n/).filter((b) => b.trim());
  const statusBlocks = blocks.filter((b) => /^HTTP\/\d/.test(b.trimStart()));
  const block = statusBlocks.length ? statusBlocks[statusBlocks.length - 1]! : (blocks[0] ?? '');
  const out: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^HTTP\/\d/.test(line)) continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && out.length) {
      out[out.length - 1]![1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

const values = (headers: HeaderList, name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

/** Opt-out signals in response headers: TDMRep, X-Robots-Tag noai/noimageai, aipref Content-Usage. */
export function headerSignals(purpose: OptOutPurpose, headers: HeaderList, isImage: boolean, where: string): OptOutSignal[] {
  const out: OptOutSignal[] = [];
  const policy = values(headers, 'tdm-policy')[0];
  for (const v of values(headers, 'tdm-reservation')) out.push(tdmrepSignal(purpose, 'tdmrep:http-header', v, policy, where));
  for (const v of values(headers, 'x-robots-tag')) out.push(...robotsDirectiveSignals(purpose, 'x-robots-tag', v, isImage, where));
  for (const v of values(headers, 'content-usage')) out.push(...contentUsageSignals(purpose, v, where));
  return out;
}

/** The media type of a response, lower-cased without parameters. */
export function contentType(headers: HeaderList): string | undefined {
  return values(headers, 'content-type')[0]?.split(';')[0]?.trim().toLowerCase();
}
