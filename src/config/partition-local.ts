// Windows are aggregated inside the lane that owns a partition, which is only correct when every
// event of a group lands on the same partition, i.e. when the group key starts with the record
// key. This lives outside the schema because cross-partition windows (repartition through an
// internal topic) will remove it; deleting this file and its call site should be the whole change.
import { sluiceError } from '../errors.ts';
import type { SluiceConfig } from './schema.ts';

export function assertPartitionLocal(config: Pick<SluiceConfig, 'input' | 'windows'>): void {
  const key = config.input.key;
  const offender = config.windows.find((window) => window.groupBy[0] !== key);
  if (offender === undefined) return;
  throw sluiceError(
    'SLUICE_WINDOW_NOT_PARTITION_LOCAL',
    `window "${offender.name}" groups by [${offender.groupBy.join(', ')}], but groupBy must start with ` +
      `the input key field "${key}" until cross-partition windows land`,
    { details: { window: offender.name, groupBy: offender.groupBy, key } },
  );
}
