// http.advertisedUrl: what the schema accepts, and the URL an instance announces for its lanes.
import { describe, expect, it } from 'vitest';
import { resolveAdvertisedUrl } from '../../../src/config/advertised-url.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { MINIMAL_CONFIG, refusalDetails } from '../../helpers/minimal-config.ts';

const withHttp = (http: Record<string, unknown>) => parseConfig({ ...MINIMAL_CONFIG, http });
const resolve = (http: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => resolveAdvertisedUrl(withHttp(http).http, env, () => 'node-7.example.internal');

describe('http.advertisedUrl', () => {
  it('takes a configured URL as it is, without a trailing slash', () => {
    expect(resolve({ advertisedUrl: 'https://stats.example.com/sluice/' })).toBe('https://stats.example.com/sluice');
    expect(resolve({ advertisedUrl: 'http://10.0.0.5:9000', port: 0 })).toBe('http://10.0.0.5:9000');
  });

  it('reads { env } at startup', () => {
    expect(resolve({ advertisedUrl: { env: 'POD_URL' } }, { POD_URL: 'http://sluice-1.sluice-headless.streams.svc:8080' })).toBe('http://sluice-1.sluice-headless.streams.svc:8080');
  });

  it('defaults to http.host and http.port, with the hostname for a wildcard host, and to none without HTTP', () => {
    expect(resolve({})).toBe('http://127.0.0.1:8080');
    expect(resolve({ host: 'sluice.local', port: 9000 })).toBe('http://sluice.local:9000');
    expect(resolve({ host: '0.0.0.0' })).toBe('http://node-7.example.internal:8080');
    expect(resolve({ host: '::' })).toBe('http://node-7.example.internal:8080');
    expect(resolve({ host: '::1' })).toBe('http://[::1]:8080');
    expect(resolve({ port: 0 })).toBeUndefined();
  });

  it('refuses a string that is not an http(s) URL with SLUICE_ADVERTISED_URL_INVALID, among the config issues', () => {
    for (const bad of ['sluice-1:8080', 'ftp://sluice-1/', '/aggregates', 'http://']) {
      expect(refusalDetails(() => withHttp({ advertisedUrl: bad }))).toEqual([{ path: 'http.advertisedUrl', message: `"${bad}" is not an http(s) URL`, code: 'SLUICE_ADVERTISED_URL_INVALID' }]);
    }
    expect(refusalDetails(() => withHttp({ advertisedUrl: 8080 }))).toEqual([{ path: 'http.advertisedUrl', message: 'expected an http(s) URL or { env: NAME }' }]);
    expect(refusalDetails(() => withHttp({ advertisedUrl: { file: '/url' } }))).toMatchObject([{ path: 'http.advertisedUrl' }]);
  });

  it('fails startup with SLUICE_ADVERTISED_URL_INVALID when the variable is unset, empty or not a URL', () => {
    const http = { advertisedUrl: { env: 'POD_URL' } };
    expect(() => resolve(http)).toThrow(expect.objectContaining({ code: 'SLUICE_ADVERTISED_URL_INVALID', message: expect.stringContaining('POD_URL is unset or empty') }));
    expect(() => resolve(http, { POD_URL: '' })).toThrow(expect.objectContaining({ code: 'SLUICE_ADVERTISED_URL_INVALID' }));
    expect(() => resolve(http, { POD_URL: 'sluice-1:8080' })).toThrow(expect.objectContaining({ code: 'SLUICE_ADVERTISED_URL_INVALID', message: expect.stringContaining('"sluice-1:8080"') }));
  });
});
