import { describe, expect, it } from 'vitest';
import { PLUS_VOCAB_BASE } from '../../src/metadata/xmp.js';
import {
  contentUsageSignals,
  decide,
  PLUS_DATA_MINING,
  plusDataMiningCode,
  plusDataMiningSignal,
  robotsDirectiveSignals,
  tdmReservationVerdict,
  trainingMiningSignals,
  type OptOutSignal,
} from '../../src/optout/signals.js';

describe('plus:DataMining vocabulary (labelling-standards.md §9.2)', () => {
  // Every PLUS value, and what it means for each purpose of use.
  const table: [code: string, genai: string, ai: string, tdm: string][] = [
    ['DMI-UNSPECIFIED', 'unknown', 'unknown', 'unknown'],
    ['DMI-ALLOWED', 'allowed', 'allowed', 'allowed'],
    ['DMI-PROHIBITED-AIMLTRAINING', 'reserved', 'reserved', 'unknown'],
    ['DMI-PROHIBITED-GENAIMLTRAINING', 'reserved', 'unknown', 'unknown'],
    ['DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING', 'reserved', 'reserved', 'reserved'],
    ['DMI-PROHIBITED', 'reserved', 'reserved', 'reserved'],
    ['DMI-PROHIBITED-SEECONSTRAINT', 'reserved', 'reserved', 'reserved'],
    ['DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR', 'reserved', 'reserved', 'reserved'],
    ['DMI-PROHIBITED-SEELINKEDRIGHTSEXPR', 'reserved', 'reserved', 'reserved'],
  ];

  it('covers the whole vocabulary', () => {
    expect(table.map((r) => r[0]).sort()).toEqual(Object.keys(PLUS_DATA_MINING).sort());
  });

  it.each(table)('%s -> genai %s, ai %s, tdm %s', (code, genai, ai, tdm) => {
    const uri = PLUS_VOCAB_BASE + code;
    expect(plusDataMiningSignal('genai-training', uri, 'x').verdict).toBe(genai);
    expect(plusDataMiningSignal('ai-training', uri, 'x').verdict).toBe(ai);
    expect(plusDataMiningSignal('tdm', uri, 'x').verdict).toBe(tdm);
  });

  it('reads bare codes, https URIs, mixed case and prefixed legacy forms; refuses unknown values', () => {
    expect(plusDataMiningCode('DMI-Allowed')).toBe('DMI-ALLOWED');
    expect(plusDataMiningCode('https://ns.useplus.org/ldf/vocab/DMI-PROHIBITED')).toBe('DMI-PROHIBITED');
    expect(plusDataMiningCode('Iptc4xmpExt:DMI-PROHIBITED-AIMLTRAINING')).toBe('DMI-PROHIBITED-AIMLTRAINING');
    expect(plusDataMiningCode('DMI-MAYBE')).toBeUndefined();
    expect(plusDataMiningSignal('genai-training', 'whatever', 'x').verdict).toBe('unknown');
  });

  it('carries plus:OtherConstraints as the policy of SEECONSTRAINT only', () => {
    expect(plusDataMiningSignal('tdm', 'DMI-PROHIBITED-SEECONSTRAINT', 'x', 'licence at https://ex.kz/l').policy).toBe('licence at https://ex.kz/l');
    expect(plusDataMiningSignal('tdm', 'DMI-PROHIBITED', 'x', 'text').policy).toBeUndefined();
  });
});

describe('C2PA / CAWG training-mining entries (§3.5)', () => {
  it('reads cawg.* and c2pa.* keys; notAllowed and constrained reserve, allowed allows; inference is not training', () => {
    const body = {
      entries: {
        'cawg.ai_generative_training': { use: 'notAllowed' },
        'c2pa.data_mining': { use: 'constrained', constraint_info: 'https://ex.kz/tdm-licence' },
        'cawg.ai_inference': { use: 'notAllowed' },
        'cawg.ai_training': { use: 'allowed' },
        'pact.commercial_training': { use: 'notAllowed' },
      },
    };
    const s = trainingMiningSignals('genai-training', body, 'f#c2pa', 'cawg.training-mining');
    expect(s.map((x) => [x.value, x.verdict, x.scope])).toEqual([
      ['cawg.training-mining cawg.ai_generative_training: notAllowed', 'reserved', 'genai-training'],
      ['cawg.training-mining c2pa.data_mining: constrained', 'reserved', 'tdm'],
      ['cawg.training-mining cawg.ai_inference: notAllowed', 'unknown', 'inference'],
      ['cawg.training-mining cawg.ai_training: allowed', 'allowed', 'ai-training'],
    ]);
    expect(s[1]!.policy).toBe('https://ex.kz/tdm-licence');
    expect(s.every((x) => x.signed)).toBe(true);
    // A bare entries map (as detect() reports it) reads the same.
    expect(trainingMiningSignals('genai-training', body.entries, 'f').map((x) => x.verdict)).toEqual(['reserved', 'reserved', 'unknown', 'allowed']);
  });

  it('a generative-only reservation does not cover training a classifier', () => {
    const s = trainingMiningSignals('ai-training', { entries: { 'cawg.ai_generative_training': { use: 'notAllowed' } } }, 'f');
    expect(decide(s).verdict).toBe('unknown');
  });

  it('ignores bodies that are not an entries map', () => {
    expect(trainingMiningSignals('genai-training', null, 'f')).toEqual([]);
    expect(trainingMiningSignals('genai-training', { entries: [1, 2] }, 'f')).toEqual([]);
    expect(trainingMiningSignals('genai-training', { entries: { 'cawg.ai_training': 'notAllowed' } }, 'f')).toEqual([]);
  });
});

describe('TDMRep, robots directives, aipref', () => {
  it('tdm-reservation: 1 reserves, 0 allows, anything else (the withdrawn 2) is unset', () => {
    expect([1, '1', ' 1 ', 0, '0', 2, '2', 'yes', undefined].map(tdmReservationVerdict)).toEqual([
      'reserved', 'reserved', 'reserved', 'allowed', 'allowed', 'unknown', 'unknown', 'unknown', 'unknown',
    ]);
  });

  it('noai reserves everything; noimageai only images; other robots tokens say nothing', () => {
    expect(robotsDirectiveSignals('genai-training', 'robots-meta', 'noindex, NoAI', false, 'x').map((s) => [s.value, s.verdict])).toEqual([['NoAI', 'reserved']]);
    expect(robotsDirectiveSignals('genai-training', 'x-robots-tag', 'noimageai', false, 'x')[0]!.verdict).toBe('unknown');
    expect(robotsDirectiveSignals('genai-training', 'x-robots-tag', 'noimageai', true, 'x')[0]!.verdict).toBe('reserved');
    expect(robotsDirectiveSignals('genai-training', 'x-robots-tag', 'GPTBot: noai', true, 'x')[0]!.verdict).toBe('reserved');
    expect(robotsDirectiveSignals('genai-training', 'robots-meta', 'noindex, nofollow', true, 'x')).toEqual([]);
  });

  it('Content-Usage: train-genai=n reserves generative training, train-ai=y allows AI training', () => {
    const s = contentUsageSignals('genai-training', 'train-ai=y, train-genai=n, search=y', 'h');
    expect(s.map((x) => [x.scope, x.verdict])).toEqual([
      ['ai-training', 'allowed'],
      ['genai-training', 'reserved'],
      ['search', 'unknown'],
    ]);
    expect(decide(s).verdict).toBe('reserved');
    expect(decide(contentUsageSignals('ai-training', 'train-ai=y, train-genai=n', 'h')).verdict).toBe('allowed');
  });
});

describe('decide', () => {
  const sig = (source: OptOutSignal['source'], verdict: OptOutSignal['verdict']): OptOutSignal => ({ source, verdict, scope: 'tdm', value: '', where: '' });

  it('any reservation beats any permission; the strongest reserving source is named', () => {
    const d = decide([sig('robots.txt', 'reserved'), sig('xmp:plus-data-mining', 'allowed'), sig('c2pa:training-mining', 'reserved'), sig('tdmrep:json', 'unknown')]);
    expect(d.verdict).toBe('reserved');
    expect(d.decisive?.source).toBe('c2pa:training-mining');
  });

  it('permission when nothing reserves; unknown when nothing applies', () => {
    expect(decide([sig('tdmrep:json', 'allowed'), sig('xmp:plus-data-mining', 'unknown')])).toMatchObject({ verdict: 'allowed', decisive: { source: 'tdmrep:json' } });
    expect(decide([sig('xmp:plus-data-mining', 'unknown')])).toEqual({ verdict: 'unknown' });
    expect(decide([])).toEqual({ verdict: 'unknown' });
  });
});
