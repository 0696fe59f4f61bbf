// GET /aggregates: parsing, routing (answer here, 307 to the owner, 503 between owners) and the
// route on a real fastify server, with the lanes' answers faked.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/kafka-broker.ts';
import { BadQuery, candidateValues, parseAggregateQuery, routeAggregates } from '../../../src/http/aggregates.ts';
import type { AggregatesSource } from '../../../src/http/aggregates.ts';
import { IngestProducer } from '../../../src/http/ingest-producer.ts';
import type { MemberProgress } from '../../../src/http/probes.ts';
import { MAX_CONCURRENT_QUERIES, startHttpServer } from '../../../src/http/server.ts';
import type { HttpServer } from '../../../src/http/server.ts';
import type { LocalAnswer } from '../../../src/model/aggregate-query.ts';

const windows = [
  { name: 'per_player', groupBy: ['playerId'] },
  { name: 'per_region_mode', groupBy: ['region', 'mode'] },
  { name: 'global', groupBy: [] },
];

const result = { window: 'per_player', group: { playerId: 'p1' }, start: 60_000, end: 120_000, final: false, values: { n: 3 } };
const fresh = { topic: 'in', partition: 2, committedOffset: '17', lag: 0, streamTime: 90_000 };

function source(over: Partial<AggregatesSource> & { answers?: LocalAnswer[]; members?: MemberProgress[] } = {}): AggregatesSource {
  return {
    windows,
    ask: async () => over.answers ?? [],
    ownerOf: () => undefined,
    self: 'http://me:8080',
    progress: async () => over.members ?? [{ joined: true, partitions: [] }],
    ...over,
  };
}

const answer = (over: Partial<LocalAnswer> = {}): LocalAnswer => ({ owned: [], results: [], freshness: [], location: { topic: 'in', partition: 2 }, ...over });

describe('parseAggregateQuery', () => {
  it('reads the window, each group field and the start bounds', () => {
    expect(parseAggregateQuery({ window: 'per_region_mode', group: ['mode=ranked', 'region=eu'], from: '0', to: '60000' }, windows)).toEqual({
      query: { window: 'per_region_mode', group: [['eu'], ['ranked']], from: 0, to: 60_000 },
      group: { region: 'eu', mode: 'ranked' },
      redirectedFrom: undefined,
    });
  });

  it('keeps a value after the first "=" whole', () => {
    expect(parseAggregateQuery({ window: 'per_player', group: 'playerId=a=b' }, windows).query.group).toEqual([['a=b']]);
  });

  it('takes no group for a global window', () => {
    expect(parseAggregateQuery({ window: 'global' }, windows).query.group).toEqual([]);
  });

  it.each([
    [{}, /give one window=<name>, one of: per_player, per_region_mode, global/],
    [{ window: ['per_player', 'global'] }, /give one window/],
    [{ window: 'nope' }, /no window "nope"; windows: per_player/],
    [{ window: 'per_player' }, /missing group=playerId=<value>/],
    [{ window: 'per_region_mode', group: 'region=eu' }, /missing group=mode=<value>/],
    [{ window: 'per_player', group: 'region=eu' }, /groups by playerId/],
    [{ window: 'per_player', group: 'playerId' }, /give group=<field>=<value>/],
    [{ window: 'per_player', group: ['playerId=a', 'playerId=b'] }, /playerId given twice/],
    [{ window: 'global', group: 'x=1' }, /nothing \(one global group\)/],
    [{ window: 'global', from: '1.5' }, /from must be one integer/],
    [{ window: 'global', to: ['1', '2'] }, /to must be one integer/],
    [{ window: 'global', from: '5', to: '4' }, /from \(5\) is after to \(4\)/],
    [{ window: 'per_player', group: `playerId=${'x'.repeat(1023)}` }, /group values of 1025 bytes: at most 1024/],
    [{ window: 'per_player', group: `playerId=${'"'.repeat(600)}` }, /group values of 1202 bytes: at most 1024/],
  ])('refuses %j', (params, message) => {
    expect(() => parseAggregateQuery(params, windows)).toThrow(BadQuery);
    expect(() => parseAggregateQuery(params, windows)).toThrow(message);
  });
});

describe('candidateValues', () => {
  it('reads text as a string, and as the number, boolean or null it spells exactly', () => {
    expect(candidateValues('p1')).toEqual(['p1']);
    expect(candidateValues('42')).toEqual(['42', 42]);
    expect(candidateValues('-1.5')).toEqual(['-1.5', -1.5]);
    expect(candidateValues('true')).toEqual(['true', true]);
    expect(candidateValues('null')).toEqual(['null', null]);
    expect(candidateValues('{"a":1}')).toEqual(['{"a":1}']);
  });

  it('reads text that is not how the value prints as a string only: every candidate has one String(), so one partition', () => {
    for (const text of ['1e3', '1.0', '1.10', ' 42', '042', '"42"']) expect(candidateValues(text)).toEqual([text]);
  });
});

describe('routeAggregates', () => {
  const parsed = parseAggregateQuery({ window: 'per_player', group: 'playerId=p1' }, windows);

  it('answers from the lanes here, results in start order, with their freshness', async () => {
    const later = { ...result, start: 120_000, end: 180_000, final: true };
    const out = await routeAggregates(source({ answers: [answer({ results: [later], freshness: [fresh] }), answer({ results: [result] })] }), parsed, 'q', 10);
    expect(out).toEqual({ status: 200, body: { window: 'per_player', group: { playerId: 'p1' }, results: [result, later], freshness: [fresh], truncated: false } });
  });

  it('answers empty when the group partition is open here and holds nothing', async () => {
    const out = await routeAggregates(source({ answers: [answer({ owned: ['in/2'], freshness: [fresh] })] }), parsed, 'q', 10);
    expect(out).toMatchObject({ status: 200, body: { results: [], freshness: [fresh] } });
  });

  it('cuts the answer at the limit and says so', async () => {
    const out = await routeAggregates(source({ answers: [answer({ results: [result, result, result] })] }), parsed, 'q', 2);
    expect(out).toMatchObject({ status: 200, body: { truncated: true } });
    expect((out as { body: { results: unknown[] } }).body.results).toHaveLength(2);
  });

  it("redirects to the partition's owner with the same query", async () => {
    const out = await routeAggregates(source({ answers: [answer({ owned: ['in/0'] })], ownerOf: (at) => (at.partition === 2 ? 'http://other:8080/' : undefined) }), parsed, 'window=per_player&group=playerId%3Dp1', 10);
    expect(out).toEqual({ status: 307, location: 'http://other:8080/aggregates?window=per_player&group=playerId%3Dp1&redirectedFrom=http%3A%2F%2Fme%3A8080' });
  });

  it('answers 503 rather than send a query back to the instance that redirected it here', async () => {
    const back = parseAggregateQuery({ window: 'per_player', group: 'playerId=p1', redirectedFrom: 'http://other:8080' }, windows);
    const out = await routeAggregates(source({ answers: [answer()], ownerOf: () => 'http://other:8080' }), back, 'q', 10);
    expect(out).toMatchObject({ status: 503, body: { error: expect.stringMatching(/in\/2, which holds this group, is moving between instances/) } });
  });

  it('redirects a redirected query onwards to a third instance, naming itself as the redirecting one', async () => {
    const onwards = parseAggregateQuery({ window: 'per_player', group: 'playerId=p1', redirectedFrom: 'http://a:8080' }, windows);
    const out = await routeAggregates(source({ answers: [answer()], ownerOf: () => 'http://c:8080' }), onwards, 'window=per_player&group=playerId=p1&redirectedFrom=http%3A%2F%2Fa%3A8080', 10);
    expect(out).toEqual({ status: 307, location: 'http://c:8080/aggregates?window=per_player&group=playerId=p1&redirectedFrom=http%3A%2F%2Fme%3A8080' });
  });

  it.each<[string, Partial<AggregatesSource> & { answers?: LocalAnswer[]; members?: MemberProgress[] }, RegExp]>([
    ['no instance answered yet', { answers: [] }, /starting/],
    ['no owner announced', { answers: [answer()] }, /in\/2, which holds this group, has no announced owner yet/],
    ['the directory names this instance', { answers: [answer()], ownerOf: () => 'http://me:8080' }, /is moving between instances/],
    ['the partition restores here', { answers: [answer()], ownerOf: () => 'http://other:8080', members: [{ joined: true, partitions: [{ partition: 'in/2', open: false, lag: undefined }] }] }, /is restoring its state here/],
  ])('answers 503 when %s', async (_why, over, message) => {
    const out = await routeAggregates(source(over), parsed, 'q', 10);
    expect(out.status).toBe(503);
    expect((out as { body: { error: string } }).body.error).toMatch(message);
  });
});

describe('GET /aggregates on the server', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(aggregates: AggregatesSource, authToken?: string) {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: await freePort(),
      maxBodyBytes: 1024,
      authToken,
      readyMaxLag: 10,
      ingest: { topic: 'in', keyField: 'playerId', maxRecordBytes: 1000, format: 'json' },
      producer: new IngestProducer(async () => ({ send: async () => undefined, close: async () => undefined }), 1000, 1 << 20),
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      failure: () => undefined,
      progress: async () => [],
      aggregates,
    });
    return server.url;
  }

  it('parses repeated group parameters and answers 200 with JSON', async () => {
    let asked: unknown;
    const url = await start(source({ ask: async (q) => ((asked = q), [answer({ results: [result] })]) }));
    const res = await fetch(`${url}/aggregates?window=per_region_mode&group=region%3Deu&group=mode=ranked&from=0`);
    expect(res.status).toBe(200);
    expect(asked).toEqual({ window: 'per_region_mode', group: [['eu'], ['ranked']], from: 0, to: undefined });
    expect(await res.json()).toMatchObject({ window: 'per_region_mode', group: { region: 'eu', mode: 'ranked' }, results: [result] });
  });

  it('answers 400 with the reason for a bad query', async () => {
    const res = await fetch(`${await start(source())}/aggregates?window=per_player`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/missing group=playerId/) });
  });

  it('redirects with 307 and a Location', async () => {
    const url = await start(source({ answers: [answer()], ownerOf: () => 'http://other:9' }));
    const res = await fetch(`${url}/aggregates?window=per_player&group=playerId=p1`, { redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('http://other:9/aggregates?window=per_player&group=playerId=p1&redirectedFrom=http%3A%2F%2Fme%3A8080');
  });

  it('answers 503 with retry-after between owners', async () => {
    const res = await fetch(`${await start(source({ answers: [answer()] }))}/aggregates?window=per_player&group=playerId=p1`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('answers 503 past MAX_CONCURRENT_QUERIES queries in flight', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const url = await start(source({ ask: async () => (await held, [answer({ results: [result] })]) }));
    const ask = () => fetch(`${url}/aggregates?window=per_player&group=playerId=p1`);
    const first = Array.from({ length: MAX_CONCURRENT_QUERIES }, ask);
    await new Promise((r) => setTimeout(r, 100));
    const over = await ask();
    expect(over.status).toBe(503);
    expect(await over.json()).toEqual({ error: `${MAX_CONCURRENT_QUERIES} requests already in flight` });
    release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual(first.map(() => 200));
    expect((await ask()).status).toBe(200);
  });

  it('answers 500 when the lanes cannot be read, and goes on', async () => {
    let fail = true;
    const url = await start(source({ ask: async () => (fail ? Promise.reject(new Error('Key of size 3011 was too large')) : [answer({ results: [result] })]) }));
    expect((await fetch(`${url}/aggregates?window=per_player&group=playerId=p1`)).status).toBe(500);
    fail = false;
    expect((await fetch(`${url}/aggregates?window=per_player&group=playerId=p1`)).status).toBe(200);
  });

  it('requires the bearer token when one is set', async () => {
    const url = await start(source({ answers: [answer({ results: [result] })] }), 'sesame');
    expect((await fetch(`${url}/aggregates?window=per_player&group=playerId=p1`)).status).toBe(401);
    expect((await fetch(`${url}/aggregates?window=per_player&group=playerId=p1`, { headers: { authorization: 'Bearer sesame' } })).status).toBe(200);
  });
});
