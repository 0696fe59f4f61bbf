// A window whose groupBy does not start with the input key field spreads one group over several
// partitions: lanes send partial aggregates to a merge stage, which writes each window's final
// once every partition has passed it. That stage writes finals only, so `emit: update` (which
// would need merged updates after every batch of every source) is refused for such windows.
import { sluiceError } from '../errors.ts';
import type { SluiceConfig } from './schema.ts';

export function assertWindowsSupported(config: Pick<SluiceConfig, 'input' | 'windows'>): void {
  const key = config.input.key;
  const offender = config.windows.find((window) => window.groupBy[0] !== key && window.emit === 'update');
  if (offender === undefined) return;
  throw sluiceError(
    'SLUICE_WINDOW_UNSUPPORTED',
    `window "${offender.name}" groups by [${offender.groupBy.join(', ')}], which spans partitions (it does not start with the input key field "${key}"); ` +
      'such windows support only emit: final',
    { details: { window: offender.name, groupBy: offender.groupBy, key } },
  );
}
