/**
 * The picker as it was first written (one array per step, a test per part and
 * owner), up to the endgame: the executable statement of the policy in
 * src/peer/picker.ts, which now works on bitmaps a byte at a time.
 * test/peer/picker.test.ts holds the two to the same pick and the same random
 * draws on random inputs.
 */
import { availability, type Pick, type PickInput, chooseOwner, pickPart } from '../../src/peer/picker.js';
import { bitsInByte, countParts, hasPart, setPart } from '../../src/protocol/bitfield.js';

function pickOne<T>(items: readonly T[], random: () => number): T {
  const i = Math.min(items.length - 1, Math.floor(random() * items.length));
  return items[i] as T;
}

export function referencePick(input: PickInput): Pick | null {
  const { parts, have, inFlight, owners, random } = input;
  const avail = input.availability ?? availability(parts, owners);
  const usable = owners.filter((o) => o.available);
  if (usable.length === 0) return null;
  // The union of the usable owners' bitmaps: one pass over bytes, not owners x parts tests.
  const union = new Uint8Array(have.length);
  for (const o of usable) for (let i = 0; i < union.length; i++) union[i] = (union[i] as number) | (o.bitmap[i] ?? 0);
  const reachable = (p: number): boolean => hasPart(union, p);

  // Fresh parts: missing, not in flight, held by someone we may ask now.
  const fresh: number[] = [];
  let missingNotInFlight = 0;
  for (let p = 0; p < parts; p++) {
    if (hasPart(have, p) || inFlight.has(p)) continue;
    missingNotInFlight++;
    if (reachable(p)) fresh.push(p);
  }
  if (fresh.length > 0) {
    let candidates = fresh;
    let askable = usable;
    if (countParts(have) >= input.randomFirst) {
      // The least-loaded available owners that hold a fresh part; rarest first among their parts.
      const freshBits = new Uint8Array(have.length);
      for (const p of fresh) setPart(freshBits, p);
      const wanted = new Map<string, number>();
      for (const o of usable) {
        let n = 0;
        for (let i = 0; i < freshBits.length; i++) n += bitsInByte((o.bitmap[i] ?? 0) & (freshBits[i] as number));
        wanted.set(o.key, n);
      }
      let minLoad = Infinity;
      for (const o of usable) if ((wanted.get(o.key) as number) > 0) minLoad = Math.min(minLoad, o.load);
      askable = usable.filter((o) => o.load === minLoad && (wanted.get(o.key) as number) > 0);
      const heldByAskable = (p: number): boolean => askable.some((o) => hasPart(o.bitmap, p));
      let min = Infinity;
      for (const p of fresh) if (heldByAskable(p)) min = Math.min(min, avail[p] as number);
      candidates = fresh.filter((p) => avail[p] === min && heldByAskable(p));
      const part = input.inOrder ? (candidates[0] as number) : pickOne(candidates, random);
      const owner = chooseOwner(part, askable, undefined, random, wanted);
      return owner === null ? null : { part, owner, endgame: false };
    }
    const part = pickOne(candidates, random);
    const owner = chooseOwner(part, askable, undefined, random);
    return owner === null ? null : { part, owner, endgame: false };
  }
  // Some missing part is not in flight but nobody available holds it: wait, not endgame.
  if (missingNotInFlight > 0) return null;

  // The endgame (every missing part in flight) was not rewritten: it is picker.ts's own, so the
  // property covers the rest (no random number is drawn before it is reached, in either).
  return pickPart(input);
}
