// The reference data the enrichment tests join events to: players p0..p39, of which p0..p29 have
// a row (tier, region), over regions of which "xx" has no name. Events of the others are enrich
// misses; those in region xx keep no region name.
export const PARTITIONS = 4;
export const PLAYERS = 40;
/** players p0..p29 have a row; the rest are enrich misses */
export const IN_TABLE = 30;
export const REGION_CODES = ['eu', 'us', 'apac', 'xx'];
export const REGION_NAMES: Record<string, string> = { eu: 'Europe', us: 'Americas', apac: 'Asia' };
export const BASE = Date.UTC(2024, 0, 1);
export const MINUTE = 60_000;

export const player = (i: number) => ({ playerId: `p${i}`, tier: ['gold', 'silver', 'bronze'][i % 3]!, region: REGION_CODES[i % 4]! });
