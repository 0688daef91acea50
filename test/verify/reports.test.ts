import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { policyDefinition } from '../../src/core/policies/index.js';
import { reporterFor, type ReportFormat } from '../../src/verify/reports/index.js';
import type { ScanSummary, Sink } from '../../src/verify/reports/types.js';
import { emptyCounts } from '../../src/verify/resume.js';
import type { FileVerdict, Verdict } from '../../src/verify/types.js';

const policy = policyDefinition('kz');
const base = { policy: 'kz' as const, synthetic: null, missing: [], requirements: [], evidence: [], labels: [] };
const VERDICTS_FIXTURE: FileVerdict[] = [
  { ...base, path: 'gen/a1111 & <co>.png', verdict: 'unlabelled', kind: 'image', format: 'png', missing: ['visible', 'machine-readable'], synthetic: { grade: 'strong', generators: ['AUTOMATIC1111'] }, evidence: [{ layer: 'signal', kind: 'png:a1111-parameters', value: { grade: 'strong', generator: 'AUTOMATIC1111' }, confidence: 0.8 }] },
  { ...base, path: 'gen/labelled.jpg', verdict: 'labelled', kind: 'image', format: 'jpeg', synthetic: { grade: 'strong', generators: [] } },
  { ...base, path: 'photos/cam\u0001era "1".jpg', verdict: 'not-synthetic', kind: 'image', format: 'jpeg' },
  { ...base, path: 'x/tampered.jpg', verdict: 'invalid', kind: 'image', format: 'jpeg', problems: ['c2pa:manifest: assertion.dataHash.mismatch'] },
  { ...base, path: '/abs/broken file.png', verdict: 'error', error: { code: 'CORRUPT_INPUT', message: 'PNG: bad CRC ]]> at byte 33' } },
  { ...base, path: 'y/half.webp', verdict: 'partially-labelled', kind: 'image', format: 'webp', missing: ['visible'], synthetic: { grade: 'hard', generators: ['OpenAI'] } },
];
const FAIL_ON: Verdict[] = ['unlabelled', 'partially-labelled', 'invalid'];

async function render(format: ReportFormat): Promise<string> {
  let out = '';
  const sink: Sink = { write: async (c) => void (out += c) };
  const r = reporterFor(format, sink);
  await r.begin({ policy, roots: ['.'], startedAt: '2026-11-23T12:00:00.000Z', failOn: FAIL_ON, version: '0.1.0' });
  const counts = emptyCounts();
  for (const v of VERDICTS_FIXTURE) {
    counts[v.verdict]++;
    await r.file(v);
  }
  const summary: ScanSummary = { files: 6, verdicts: counts, resumed: 0, seconds: 0.5, filesPerSecond: 12, bytesRead: 6000, bytesPerFile: 1000, failOn: FAIL_ON, failed: true };
  await r.end(summary);
  return out;
}

/**
 * SARIF 2.1.0 required and allowed properties (sarif-schema-2.1.0.json, OASIS) for the objects
 * tamga writes: every object must have its required properties and no property the schema
 * does not define (the schema sets additionalProperties: false on each).
 */
const SARIF_SCHEMA: Record<string, { required: string[]; allowed: string[] }> = {
  log: { required: ['version', 'runs'], allowed: ['$schema', 'version', 'runs', 'inlineExternalProperties', 'properties'] },
  run: { required: ['tool'], allowed: ['tool', 'invocations', 'conversion', 'language', 'versionControlProvenance', 'originalUriBaseIds', 'artifacts', 'logicalLocations', 'graphs', 'results', 'automationDetails', 'runAggregates', 'baselineGuid', 'redactionTokens', 'defaultEncoding', 'defaultSourceLanguage', 'newlineSequences', 'columnKind', 'externalPropertyFileReferences', 'threadFlowLocations', 'taxonomies', 'addresses', 'translations', 'policies', 'webRequests', 'webResponses', 'specialLocations', 'properties'] },
  tool: { required: ['driver'], allowed: ['driver', 'extensions', 'properties'] },
  toolComponent: { required: ['name'], allowed: ['guid', 'name', 'organization', 'product', 'productSuite', 'shortDescription', 'fullDescription', 'fullName', 'version', 'semanticVersion', 'dottedQuadFileVersion', 'releaseDateUtc', 'downloadUri', 'informationUri', 'globalMessageStrings', 'notifications', 'rules', 'taxa', 'locations', 'language', 'contents', 'isComprehensive', 'localizedDataSemanticVersion', 'minimumRequiredLocalizedDataSemanticVersion', 'associatedComponent', 'translationMetadata', 'supportedTaxonomies', 'properties'] },
  reportingDescriptor: { required: ['id'], allowed: ['id', 'deprecatedIds', 'guid', 'deprecatedGuids', 'name', 'deprecatedNames', 'shortDescription', 'fullDescription', 'messageStrings', 'defaultConfiguration', 'helpUri', 'help', 'relationships', 'properties'] },
  multiformatMessageString: { required: ['text'], allowed: ['text', 'markdown', 'properties'] },
  reportingConfiguration: { required: [], allowed: ['enabled', 'level', 'rank', 'parameters', 'properties'] },
  invocation: { required: ['executionSuccessful'], allowed: ['commandLine', 'arguments', 'responseFiles', 'startTimeUtc', 'endTimeUtc', 'exitCode', 'ruleConfigurationOverrides', 'notificationConfigurationOverrides', 'toolExecutionNotifications', 'toolConfigurationNotifications', 'exitCodeDescription', 'exitSignalName', 'exitSignalNumber', 'processStartFailureMessage', 'executionSuccessful', 'machine', 'account', 'processId', 'executableLocation', 'workingDirectory', 'environmentVariables', 'stdin', 'stdout', 'stderr', 'stdoutStderr', 'properties'] },
  result: { required: ['message'], allowed: ['ruleId', 'ruleIndex', 'rule', 'kind', 'level', 'message', 'analysisTarget', 'locations', 'guid', 'correlationGuid', 'occurrenceCount', 'partialFingerprints', 'fingerprints', 'stacks', 'codeFlows', 'graphs', 'graphTraversals', 'relatedLocations', 'suppressions', 'baselineState', 'rank', 'attachments', 'hostedViewerUri', 'workItemUris', 'provenance', 'fixes', 'taxa', 'webRequest', 'webResponse', 'properties'] },
  message: { required: [], allowed: ['text', 'markdown', 'id', 'arguments', 'properties'] },
  location: { required: [], allowed: ['id', 'physicalLocation', 'logicalLocations', 'message', 'annotations', 'relationships', 'properties'] },
  physicalLocation: { required: [], allowed: ['address', 'artifactLocation', 'region', 'contextRegion', 'properties'] },
  artifactLocation: { required: [], allowed: ['uri', 'uriBaseId', 'index', 'description', 'properties'] },
};

function conforms(obj: unknown, type: string): void {
  expect(obj, type).toBeTypeOf('object');
  const s = SARIF_SCHEMA[type]!;
  for (const k of s.required) expect(obj, `${type}.${k} is required`).toHaveProperty(k);
  for (const k of Object.keys(obj as object)) expect(s.allowed, `${type} has no property ${k}`).toContain(k);
}

describe('scan reports', () => {
  it('SARIF 2.1.0: required properties, no undefined ones, enums, a result per file needing attention', async () => {
    const log = JSON.parse(await render('sarif'));
    conforms(log, 'log');
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    conforms(run, 'run');
    conforms(run.tool, 'tool');
    conforms(run.tool.driver, 'toolComponent');
    for (const rule of run.tool.driver.rules) {
      conforms(rule, 'reportingDescriptor');
      conforms(rule.shortDescription, 'multiformatMessageString');
      conforms(rule.fullDescription, 'multiformatMessageString');
      conforms(rule.defaultConfiguration, 'reportingConfiguration');
      expect(['none', 'note', 'warning', 'error']).toContain(rule.defaultConfiguration.level);
    }
    for (const inv of run.invocations) conforms(inv, 'invocation');
    expect(run.results.map((r: { ruleId: string }) => r.ruleId)).toEqual(['unlabelled', 'invalid', 'error', 'partially-labelled']);
    for (const r of run.results) {
      conforms(r, 'result');
      conforms(r.message, 'message');
      expect(typeof r.message.text).toBe('string'); // message: anyOf required text or id
      expect(['none', 'note', 'warning', 'error']).toContain(r.level);
      expect(['notApplicable', 'pass', 'fail', 'review', 'open', 'informational']).toContain(r.kind);
      expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
      for (const loc of r.locations) {
        conforms(loc, 'location');
        conforms(loc.physicalLocation, 'physicalLocation');
        conforms(loc.physicalLocation.artifactLocation, 'artifactLocation');
      }
    }
    const uris = run.results.map((r: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) => r.locations[0]!.physicalLocation.artifactLocation.uri);
    expect(uris).toEqual(['gen/a1111%20%26%20%3Cco%3E.png', 'x/tampered.jpg', 'file:///abs/broken%20file.png', 'y/half.webp']);
    expect(run.results[0].level).toBe('error');
    expect(run.results[2].level).toBe('note');
  });

  it('JUnit XML is well-formed (parsed back with saxes), escaped, and counts failures and errors', async () => {
    const xml = await render('junit');
    const parser = new SaxesParser();
    const cases: { name: string; failure?: string; error?: string }[] = [];
    let suite: Record<string, string> = {};
    let text = '';
    parser.on('opentag', (t) => {
      const a = t.attributes as Record<string, string>;
      if (t.name === 'testsuite') suite = a;
      if (t.name === 'testcase') cases.push({ name: a['name']! });
      if (t.name === 'failure') cases.at(-1)!.failure = a['type']!;
      if (t.name === 'error') cases.at(-1)!.error = a['message']!;
      text = '';
    });
    parser.on('text', (t) => (text += t));
    parser.on('error', (e) => {
      throw e;
    });
    parser.write(xml).close();
    expect(suite).toMatchObject({ tests: '6', failures: '3', errors: '1' });
    expect(cases.map((c) => c.name)).toEqual(VERDICTS_FIXTURE.map((v) => v.path.replace('\u0001', '\\u0001')));
    expect(cases.filter((c) => c.failure).map((c) => c.failure)).toEqual(['unlabelled', 'invalid', 'partially-labelled']);
    expect(cases.find((c) => c.error)?.error).toBe('PNG: bad CRC ]]> at byte 33');
  });

  it('JSON (schema tamga.scan/1) parses whole; NDJSON has one record per line', async () => {
    const doc = JSON.parse(await render('json'));
    expect(doc).toMatchObject({ schema: 'tamga.scan/1', policy: 'kz', roots: ['.'], summary: { files: 6, failed: true } });
    expect(doc.files).toEqual(VERDICTS_FIXTURE);
    const lines = (await render('ndjson')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['header', ...VERDICTS_FIXTURE.map(() => 'file'), 'summary']);
    expect(lines[0]).toMatchObject({ schema: 'tamga.scan/1' });
    expect(lines.slice(1, -1).map(({ type: _t, ...rest }) => rest)).toEqual(VERDICTS_FIXTURE);
  });

  it('the table has a row per file and a summary', async () => {
    const t = await render('table');
    expect(t).toMatch(/^unlabelled\s+png\s+visible,machine-readable\s+gen\/a1111 & <co>\.png\s+\[strong: png:a1111-parameters \(AUTOMATIC1111\)\]$/m);
    expect(t).toMatch(/^error\s+-\s+-\s+\/abs\/broken file\.png\s+\[CORRUPT_INPUT: PNG: bad CRC/m);
    expect(t).toContain('6 file(s): labelled 1, partially-labelled 1, unlabelled 1, not-synthetic 1, invalid 1, error 1');
    expect(t).toContain('FAILED: found unlabelled, partially-labelled, invalid');
  });
});
