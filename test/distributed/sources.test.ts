import { describe, expect, it } from 'vitest';
import { isTransient, isUrl, TransientError, transientMessage } from '../../src/distributed/sources.js';

describe('sources', () => {
  it('tells URLs from paths (a one-letter scheme is a Windows drive)', () => {
    expect(isUrl('https://example.org/a.png')).toBe(true);
    expect(isUrl('s3://bucket/key')).toBe(true);
    expect(isUrl('C://x')).toBe(false);
    expect(isUrl('/srv/a.png')).toBe(false);
  });
  it('classes connection resets, EMFILE and time-outs as transient, other errors not', () => {
    expect(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(new TypeError('fetch failed', { cause: Object.assign(new Error('y'), { code: 'EMFILE' }) }))).toBe(true);
    expect(isTransient(new TransientError('HTTP 503'))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(transientMessage('a.png: cannot read: EMFILE: too many open files')).toBe(true);
    expect(transientMessage('a.png: no such file or directory')).toBe(false);
  });
});
