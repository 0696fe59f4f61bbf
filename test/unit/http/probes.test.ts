import { describe, expect, it } from 'vitest';
import { readiness } from '../../../src/http/probes.ts';

describe('readiness', () => {
  it('is not ready before the first assignment', () => {
    expect(readiness([{ joined: false, partitions: [] }], 100)).toMatchObject({ ready: false, reasons: ['not yet assigned partitions'] });
    expect(readiness([{ joined: true, partitions: [] }, { joined: false, partitions: [] }], 100)).toMatchObject({ ready: false, reasons: ['1 of 2 workers not yet assigned partitions'] });
  });

  it('is ready with nothing assigned once joined (more members than partitions)', () => {
    expect(readiness([{ joined: true, partitions: [] }], 100)).toEqual({ ready: true, reasons: [], partitions: [] });
  });

  it('says per partition which one restores or lags', () => {
    const report = readiness(
      [
        { joined: true, partitions: [{ partition: 'in/10', open: true, lag: 101 }, { partition: 'in/2', open: false, lag: undefined }] },
        { joined: true, partitions: [{ partition: 'in/1', open: true, lag: 100 }, { partition: 'in/3', open: true, lag: undefined }] },
      ],
      100,
    );
    expect(report.ready).toBe(false);
    expect(report.partitions).toEqual([
      { partition: 'in/1', state: 'ready', lag: 100 },
      { partition: 'in/2', state: 'restoring', lag: null },
      { partition: 'in/3', state: 'ready', lag: null },
      { partition: 'in/10', state: 'lagging', lag: 101 },
    ]);
    expect(report.reasons).toEqual(['in/10 is 101 records behind (http.readyMaxLag 100)', 'in/2 is restoring its state']);
  });
});
