/**
 * 32-bit string hash for the consistent-hash ring: FNV-1a over UTF-16 code units, then the
 * murmur3 finaliser, because FNV alone clusters near-identical inputs such as `id#1`, `id#2`
 * and would leave gaps on the ring. Stable across processes, so every client builds the same ring.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
