import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tamga from '../../src/index.js';
import { detect, label, scan, verify } from '../../src/index.js';
import { expectTamgaError, ROOT, tempDir } from '../helpers.js';

const SAMPLE = join(ROOT, 'fixtures', 'demo', 'sample.png');

describe('the JS API refuses option keys it does not know (README: every option is checked on entry)', () => {
  it('label: a misspelt option, provenance field or c2pa key is INVALID_OPTION naming it, with a suggestion', async () => {
    const png = readFileSync(SAMPLE);
    await expectTamgaError(label(png, {}, { polcy: 'eu' } as never), 'INVALID_OPTION', /^polcy: not a label option \(did you mean policy\?\)/);
    await expectTamgaError(label(png, {}, { visble: false } as never), 'INVALID_OPTION', /^visble: .*did you mean visible\?/);
    // Undefined still counts: the caller meant something by the key.
    await expectTamgaError(label(png, {}, { visble: undefined } as never), 'INVALID_OPTION', /^visble:/);
    await expectTamgaError(label(png, { genrator: 'x' } as never, { visible: false }), 'INVALID_OPTION', /^genrator: not a provenance field \(did you mean generator\?\)/);
    await expectTamgaError(label(png, {}, { visible: false, c2pa: { cert: 'a', key: 'b', reserve: true } as never }), 'INVALID_OPTION', /^c2pa\.reserve: not a c2pa option/);
    await expectTamgaError(label(png, {}, 'eu' as never), 'INVALID_OPTION');
    // The right keys still work, nothing written for the wrong ones.
    expect((await label(png, { generator: 'x' }, { policy: 'eu', visible: false })).layers).toEqual(['metadata']);
  });

  it('detect, verify and scan likewise', async () => {
    await expectTamgaError(detect(SAMPLE, { labelOnly: true } as never), 'INVALID_OPTION', /^labelOnly: not a detect option \(did you mean labelsOnly\?\)/);
    await expectTamgaError(verify(SAMPLE, { polcy: 'eu' } as never), 'INVALID_OPTION', /^polcy: not a verify option/);
    const it = scan([SAMPLE], { concurency: 2 } as never);
    await expectTamgaError(it.next(), 'INVALID_OPTION', /^concurency: not a scan option \(did you mean concurrency\?\)/);
    expect((await verify(SAMPLE, { policy: 'eu', visible: false })).verdict).toBe('not-synthetic');
  });
});

describe('what the CLI does is in the public API', () => {
  it('exports signC2pa, readC2pa, strip, the watermark and keygen functions', async () => {
    for (const name of ['signC2pa', 'readC2pa', 'localSigner', 'strip', 'embedWatermarkFile', 'detectWatermarkFile', 'parsePayloadHex', 'makeDevChain', 'writeDevChain']) {
      expect(typeof (tamga as Record<string, unknown>)[name], name).toBe('function');
    }
    const tmp = tempDir('tamga-api-');
    try {
      const paths = await tamga.writeDevChain(tmp.dir);
      const png = new Uint8Array(readFileSync(SAMPLE));
      const signed = await tamga.signC2pa(png, 'png', tamga.makeProvenance({ provider: 'Example AI LLP' }), { signer: tamga.localSigner({ cert: readFileSync(paths.chainPem, 'utf8'), key: readFileSync(paths.keyPem, 'utf8') }) });
      const report = await tamga.readC2pa(signed, 'png', { trustAnchors: readFileSync(paths.rootPem, 'utf8') });
      expect(report?.validationState).toBe('valid');
    } finally {
      tmp.cleanup();
    }
  });

  it("the CLI's strip, watermark and keygen commands import the library only through src/index.ts", () => {
    for (const cmd of ['strip', 'watermark', 'keygen']) {
      const src = readFileSync(join(ROOT, 'src', 'cli', 'commands', `${cmd}.ts`), 'utf8');
      const imports = [...src.matchAll(/from '(\.\.\/\.\.\/[^']+)'/g)].map((m) => m[1]);
      expect(imports.filter((p) => p !== '../../index.js' && p !== '../../core/errors.js'), cmd).toEqual([]);
    }
  });
});
