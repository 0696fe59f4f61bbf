import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRegistry, createRegistryClient } from '../../../src/formats/registry-client.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A loopback HTTP server answering every request with `status` (or never, for `hang`). */
async function fakeRegistry(status: number | 'hang', seen: IncomingHttpHeaders[] = []): Promise<string> {
  const server = createServer((req, res) => {
    seen.push(req.headers);
    if (status === 'hang') return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '[]' : JSON.stringify({ error_code: status, message: 'no' }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the schema registry client at startup', () => {
  it('sends the basic-auth credentials and passes when the registry answers', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const config = { url: await fakeRegistry(200, seen), timeout: 2000, basicAuth: { username: 'sluice', password: 's3cret' } };
    await checkRegistry(createRegistryClient(config), config);
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('sluice:s3cret').toString('base64')}`);
  });

  it('fails with SLUICE_SCHEMA_REGISTRY_UNREACHABLE naming the URL and status, on refusal, silence or no server', async () => {
    const refusing = { url: await fakeRegistry(401), timeout: 2000 };
    await expect(checkRegistry(createRegistryClient(refusing), refusing)).rejects.toMatchObject({ code: 'SLUICE_SCHEMA_REGISTRY_UNREACHABLE', message: expect.stringMatching(new RegExp(`schema registry ${refusing.url} did not answer: HTTP 401`)) });
    const silent = { url: await fakeRegistry('hang'), timeout: 300 };
    const started = Date.now();
    await expect(checkRegistry(createRegistryClient(silent), silent)).rejects.toMatchObject({ code: 'SLUICE_SCHEMA_REGISTRY_UNREACHABLE', message: expect.stringMatching(/timeout/) });
    expect(Date.now() - started, 'the request timeout holds').toBeLessThan(5000);
    const none = { url: 'http://127.0.0.1:1', timeout: 1000 };
    await expect(checkRegistry(createRegistryClient(none), none)).rejects.toMatchObject({ code: 'SLUICE_SCHEMA_REGISTRY_UNREACHABLE', message: expect.stringMatching(/ECONNREFUSED/) });
  });
});
