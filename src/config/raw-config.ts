// What the cross-field checks of the config schema share: they run on a config that may have
// failed elsewhere (the schema reports a config whole), so they inspect values defensively.

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** One problem a cross-field check found, in the shape zod's custom issues take. */
export type ConfigIssue = { path: (string | number)[]; message: string; params?: { code: string } };
