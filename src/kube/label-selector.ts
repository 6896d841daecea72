/**
 * Kubernetes label selector strings (`a=b,c!=d,e in (x,y),!f`), parsed once and matched
 * against node labels. client-node has no matcher, and the opt-in selector must be evaluated
 * against the cache, not by a server-side list.
 */
export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'doesnotexist' };

const KEY = String.raw`[A-Za-z0-9][-A-Za-z0-9_./]*`;
const VALUE = String.raw`[A-Za-z0-9]?[-A-Za-z0-9_.]*`;
const PATTERNS: { re: RegExp; build: (m: RegExpMatchArray) => Requirement }[] = [
  {
    re: new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`),
    build: (m) => ({ key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] }),
  },
  {
    re: new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`),
    build: (m) => ({
      key: m[1]!,
      op: m[2] as 'in' | 'notin',
      values: m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== ''),
    }),
  },
  { re: new RegExp(`^!\\s*(${KEY})$`), build: (m) => ({ key: m[1]!, op: 'doesnotexist' }) },
  { re: new RegExp(`^(${KEY})$`), build: (m) => ({ key: m[1]!, op: 'exists' }) },
];

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim());
}

/** Throws on a malformed selector; an empty string selects nothing (opt-in by selector off). */
export function parseLabelSelector(selector: string): Requirement[] {
  if (selector.trim() === '') return [];
  return splitTerms(selector).map((term) => {
    for (const { re, build } of PATTERNS) {
      const m = term.match(re);
      if (m) return build(m);
    }
    throw new Error(`invalid label selector term "${term}"`);
  });
}

export function matchesSelector(
  requirements: readonly Requirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  if (requirements.length === 0) return false;
  return requirements.every((r) => {
    const value = labels[r.key];
    switch (r.op) {
      case 'exists':
        return value !== undefined;
      case 'doesnotexist':
        return value === undefined;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
    }
  });
}
