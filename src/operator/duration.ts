import * as z from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: "0", or number-unit parts ("90s", "1h30m", "500ms"). */
export const DURATION_PATTERN = /^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$/;

/** Parses a Go-style duration into milliseconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] as string] as number), 0);
}

/**
 * A duration in config: a Go-style string ("30s", "1h") or a number of seconds, the way Helm
 * values are usually written. Parsed to milliseconds. The pattern is in the schema, so the
 * chart's values.schema.json (generated from it) refuses the same strings the operator does.
 */
export const Duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(DURATION_PATTERN, { error: 'invalid duration (use e.g. 500ms, 30s, 5m, 1h)' }),
  ])
  .transform((value) =>
    typeof value === 'number' ? Math.round(value * 1000) : (parseDuration(value) ?? 0),
  );
