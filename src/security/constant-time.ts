import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Matches a presented secret against known ones in time independent of where they differ
 * and of which one matches: both sides are hashed to equal length and every entry is compared.
 */
export function secretMatcher<T>(entries: Iterable<readonly [secret: string, value: T]>) {
  const known = [...entries].map(([secret, value]) => {
    if (secret.length === 0) throw new TypeError('an empty string is not a valid secret');
    return { hash: digest(secret), value };
  });
  return (presented: string): T | undefined => {
    const h = digest(presented);
    let found: T | undefined;
    for (const k of known) if (timingSafeEqual(h, k.hash) && found === undefined) found = k.value;
    return found;
  };
}

/** Constant-time string equality. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
