import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { escapeXmlAttr, escapeXmlText } from '../../metadata/xml.js';
import type { FileVerdict } from '../types.js';
import type { Reporter, ScanMeta, ScanSummary, Sink } from './types.js';

/** Characters XML 1.0 cannot carry (file names may hold them): shown as \uXXXX instead. */
const xmlSafe = (s: string): string =>
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const attr = (s: string): string => escapeXmlAttr(xmlSafe(s));
const text = (s: string): string => escapeXmlText(xmlSafe(s));

/**
 * JUnit XML: a test suite per scan, a test case per file. Verdicts in --fail-on are failures,
 * `error` verdicts are errors (unless listed in --fail-on), the rest pass. The counts belong in
 * the opening tag, so test cases are spooled to a temp file and copied after it: memory stays flat.
 */
export function junitReporter(out: Sink): Reporter {
  let meta: ScanMeta;
  let dir: string;
  let fd: number;
  let tests = 0;
  let failures = 0;
  let errors = 0;
  return {
    async begin(m: ScanMeta) {
      meta = m;
      dir = mkdtempSync(join(tmpdir(), 'tamga-junit-'));
      fd = openSync(join(dir, 'cases.xml'), 'w+');
    },
    async file(v: FileVerdict) {
      tests++;
      let body = '';
      if (meta.failOn.includes(v.verdict)) {
        failures++;
        const detail = v.verdict === 'error' ? (v.error?.message ?? '') : v.verdict === 'invalid' ? (v.problems ?? []).join('\n') : `missing: ${v.missing.join(', ')}\nevidence: ${v.evidence.map((e) => e.kind).join(', ')}`;
        body = `<failure type="${attr(v.verdict)}" message="${attr(`${v.verdict}${v.missing.length ? `: missing ${v.missing.join(', ')}` : ''}`)}">${text(detail)}</failure>`;
      } else if (v.verdict === 'error') {
        errors++;
        body = `<error type="${attr(v.error?.code ?? 'error')}" message="${attr(v.error?.message ?? '')}"/>`;
      }
      const props = `<properties><property name="verdict" value="${attr(v.verdict)}"/></properties>`;
      writeSync(fd, `    <testcase classname="tamga.scan.${attr(v.policy)}" name="${attr(v.path)}">${props}${body}</testcase>\n`);
    },
    async end(s: ScanSummary) {
      try {
        await out.write(
          `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="tamga scan" tests="${tests}" failures="${failures}" errors="${errors}" time="${s.seconds.toFixed(3)}">\n` +
            `  <testsuite name="tamga scan (policy ${attr(meta.policy.id)})" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${s.seconds.toFixed(3)}" timestamp="${attr(meta.startedAt.replace(/\.\d+Z$/, ''))}">\n`,
        );
        const buf = Buffer.allocUnsafe(1 << 16);
        const utf8 = new StringDecoder('utf8'); // a chunk may end inside a character
        for (let pos = 0; ; ) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n === 0) break;
          pos += n;
          await out.write(utf8.write(buf.subarray(0, n)));
        }
        await out.write('  </testsuite>\n</testsuites>\n');
      } finally {
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
