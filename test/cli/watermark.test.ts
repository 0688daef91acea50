import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, runTamga } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const KEY = '00112233445566778899aabbccddeeff';
const tamga = (...args: string[]) => runTamga(tmp.dir, ...args);

describe('tamga watermark embed|detect (the harness interface)', () => {
  it('embeds a payload, prints it back as hex, exit 0; exit 1 and no output when absent', async () => {
    const input = join(tmp.dir, 'in.jpg');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#347"/><circle cx="200" cy="150" r="90" fill="#e94"/></svg>');
    await sharp(svg).jpeg({ quality: 92 }).toFile(input);
    const output = join(tmp.dir, 'out.jpg');
    const e = tamga('watermark', 'embed', input, '-o', output, '--watermark-key', KEY, '--payload', '0123456789ABCDEF');
    expect(e.status, e.stderr).toBe(0);
    const found = tamga('watermark', 'detect', output, '--watermark-key', KEY);
    expect(found).toMatchObject({ status: 0, stdout: '0123456789abcdef\n' });
    const absent = tamga('watermark', 'detect', input, '--watermark-key', KEY);
    expect(absent).toMatchObject({ status: 1, stdout: '' });
    expect(JSON.parse(tamga('watermark', 'detect', output, '--watermark-key', 'another-key-123', '--json').stdout)).toEqual({ input: output, found: false });
  });

  it('bad payloads and keys are usage errors (exit 2)', () => {
    expect(tamga('watermark', 'embed', 'x.png', '-o', 'y.png', '--watermark-key', KEY, '--payload', 'xyz').status).toBe(2);
    expect(tamga('watermark', 'detect', 'x.png', '--watermark-key', 'short').status).toBe(2);
  });
});
