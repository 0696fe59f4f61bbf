import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerMatches, readSecret } from '../../../src/http/auth.ts';

describe('the bearer token', () => {
  it('matches only the exact token', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cretX', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches('s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(bearerMatches('Bearer ', 's3cret')).toBe(false);
  });

  it('is read from an environment variable or a file, never empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
    writeFileSync(join(dir, 'token'), 'from-file\n');
    writeFileSync(join(dir, 'empty'), '\n');
    expect(readSecret({ env: 'TOKEN' }, 'http.authToken', { TOKEN: 'from-env' })).toBe('from-env');
    expect(readSecret({ file: join(dir, 'token') }, 'http.authToken')).toBe('from-file');
    expect(() => readSecret({ env: 'TOKEN' }, 'http.authToken', {})).toThrow(expect.objectContaining({ code: 'SLUICE_SECRET_UNREADABLE', message: expect.stringMatching(/TOKEN is unset/) }));
    expect(() => readSecret({ file: join(dir, 'empty') }, 'http.authToken')).toThrow(expect.objectContaining({ code: 'SLUICE_SECRET_UNREADABLE' }));
    expect(() => readSecret({ file: join(dir, 'missing') }, 'http.authToken')).toThrow(expect.objectContaining({ code: 'SLUICE_SECRET_UNREADABLE', message: expect.stringMatching(/ENOENT/) }));
  });
});
