import { isAbsolute, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FileVerdict, Verdict } from '../types.js';
import type { Reporter, ScanMeta, ScanSummary, Sink } from './types.js';

type Level = 'error' | 'warning' | 'note';

/** One SARIF rule per verdict that needs attention; labelled and not-synthetic files produce no result. */
const RULES: { id: Verdict; name: string; text: string; level: Level }[] = [
  { id: 'unlabelled', name: 'UnlabelledSyntheticMedia', text: 'Synthetic media carries none of the labels the policy requires', level: 'error' },
  { id: 'partially-labelled', name: 'PartiallyLabelledSyntheticMedia', text: 'Synthetic media lacks some of the labels the policy requires', level: 'warning' },
  { id: 'invalid', name: 'InvalidLabel', text: 'A label or manifest is present but broken (tampered C2PA, malformed XMP)', level: 'error' },
  { id: 'error', name: 'UnreadableFile', text: 'The file could not be verified (unreadable, corrupt, unsupported, timed out)', level: 'note' },
];

/** A relative path as a relative URI reference (SARIF §3.10.2), an absolute one as a file: URI. */
export function artifactUri(path: string): string {
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return path.split(sep).map(encodeURIComponent).join('/');
}

function message(v: FileVerdict): string {
  switch (v.verdict) {
    case 'error':
      return `${v.path}: ${v.error?.message ?? 'could not be verified'}`;
    case 'invalid':
      return `${v.path}: broken label: ${(v.problems ?? []).join('; ')}`;
    default: {
      const gens = v.synthetic?.generators.length ? ` (${v.synthetic.generators.join(', ')})` : '';
      return `${v.path}: synthetic media, ${v.synthetic?.grade ?? ''} evidence${gens}; missing required layer(s): ${v.missing.join(', ')}`;
    }
  }
}

/** SARIF 2.1.0 (OASIS): one run, results streamed as files finish, the summary in the run's property bag. */
export function sarifReporter(out: Sink): Reporter {
  let meta: ScanMeta;
  let first = true;
  return {
    async begin(m: ScanMeta) {
      meta = m;
      const driver = {
        name: 'tamga',
        version: m.version,
        informationUri: 'https://www.npmjs.com/package/tamga',
        rules: RULES.map((r) => ({
          id: r.id,
          name: r.name,
          shortDescription: { text: r.text },
          fullDescription: { text: `${r.text}. Policy ${m.policy.id}: ${m.policy.law}.` },
          defaultConfiguration: { level: m.failOn.includes(r.id) ? 'error' : r.level },
        })),
      };
      await out.write(`{\n  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",\n  "version": "2.1.0",\n  "runs": [\n    {\n      "tool": ${JSON.stringify({ driver })},\n      "results": [`);
    },
    async file(v: FileVerdict) {
      const ruleIndex = RULES.findIndex((r) => r.id === v.verdict);
      if (ruleIndex < 0) return;
      const rule = RULES[ruleIndex]!;
      const result = {
        ruleId: rule.id,
        ruleIndex,
        level: meta.failOn.includes(v.verdict) ? 'error' : rule.level,
        kind: 'fail',
        message: { text: message(v) },
        locations: [{ physicalLocation: { artifactLocation: { uri: artifactUri(v.path) } } }],
        properties: {
          verdict: v.verdict,
          policy: v.policy,
          missing: v.missing,
          ...(v.synthetic ? { synthetic: v.synthetic } : {}),
          evidence: v.evidence.map((e) => e.kind),
          ...(v.error ? { errorCode: v.error.code } : {}),
        },
      };
      await out.write(`${first ? '' : ','}\n        ${JSON.stringify(result)}`);
      first = false;
    },
    async end(s: ScanSummary) {
      const invocation = { executionSuccessful: true, startTimeUtc: meta.startedAt, endTimeUtc: new Date().toISOString() };
      await out.write(`\n      ],\n      "invocations": [${JSON.stringify(invocation)}],\n      "properties": ${JSON.stringify({ policy: meta.policy.id, summary: s })}\n    }\n  ]\n}\n`);
    },
  };
}
