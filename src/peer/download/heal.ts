/**
 * Trusting nobody, for one download: the early cross-checks while parts
 * arrive, and healing once the whole-file md5 fails. The decisions are
 * blame.ts's (pure); this module fetches the copies it asks for, writes and
 * records them, bans, and tells the user.
 *
 * Cross-check: a sample of accepted parts (blame.checkChance) is fetched again
 * from a second owner and only its digest kept. Copies that differ are a
 * dispute: a third owner is asked, and a strict majority bans the odd one out
 * at once — its parts are dropped and fetched again from others.
 * Heal: planHeal guesses a set of liars, the parts they sent are fetched from
 * the others (overwriting), and the md5 is checked again, until it verifies or
 * no testable guess is left. Once verified, the file's own digests say exactly
 * who lied: those are banned, and a ban a bought majority made is lifted.
 */
import { ErrorCode, FileError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { hasPart } from '../../protocol/index.js';
import { CHECK_DEFAULTS, type Digest, type DiskCopy, type HealPlan, type Refetch, checkChance, judge, liarKey, pickOne, planHeal, provenLiars } from './blame.js';
import type { Owner, OwnerSet } from './owners.js';
import { type PartialFile, partDigest } from './partial.js';

export interface HealReport {
  /** Parts whose copy was wrong, now replaced. */
  readonly wrong: readonly number[];
  /** Who sent wrong bytes, and of which parts (proven by the verified file). */
  readonly liars: readonly { readonly owner: string; readonly parts: readonly number[] }[];
  /** Parts fetched again while healing (guesses that failed included). */
  readonly refetched: number;
  /** md5 checks after the first failure. */
  readonly rounds: number;
  readonly seconds: number;
}

export interface Ban {
  readonly owner: string;
  readonly reason: string;
  readonly parts: readonly number[];
}

export interface HealDeps {
  readonly partial: PartialFile;
  readonly owners: OwnerSet;
  readonly random: () => number;
  readonly now: () => number;
  readonly log: Logger;
  /** Fetches `part` from `owner` outside the schedule (throws when the fetch fails); `check`: a cross-check, cancelled once all parts are in. */
  readonly fetch: (part: number, owner: Owner, check: boolean) => Promise<Buffer[]>;
  /** A ban was decided (kept in the state file already). */
  readonly banned: (ban: Ban) => void;
  /** A ban is lifted: the verified file shows `owner` sent the right bytes (a bought majority had banned it). */
  readonly unbanned: (owner: string, reason: string) => void;
  /** `part` was dropped (its copy is suspect): the download fetches it again. */
  readonly dropped: (part: number) => void;
  /** Share of the file's parts cross-checked at most (CheckTuning.share). */
  readonly checkShare: number;
  /** The download was stopped: healing ends (the state stays for a resume). */
  readonly stopped: () => boolean;
  /** Guesses tested at most before giving up (each costs a re-fetch and an md5). */
  readonly maxRounds?: number;
  /** Give up on a part after this many failed fetches from the owners asked. */
  readonly attempts?: number;
  /** Wait between rounds of asking when every owner failed (choked, busy), ms. */
  readonly retryMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bytes of disputed copies kept in memory, so a guess that trusts one needs no second fetch. */
const KEPT_BYTES = 32 << 20;

export class Healer {
  /** Cross-checks started (the budget counts these). */
  private checks = 0;
  /** owner -> cross-checks its copies passed. */
  private readonly passed = new Map<string, number>();
  /** Cross-check bytes fetched (the extra traffic). */
  checkBytes = 0;
  private readonly wrongParts = new Set<number>();
  /** part -> digest -> the bytes of a copy that disagreed with the one on disk, and who sent it. */
  private readonly kept = new Map<number, Map<Digest, { owner: string; chunks: Buffer[] }>>();
  private keptBytes = 0;
  /** Owners in a dispute no majority settled: every part they send is cross-checked. */
  private readonly disputed = new Set<string>();

  constructor(private readonly deps: HealDeps) {}

  get checksDone(): number {
    return this.checks;
  }

  /** Bans kept from an earlier run: applied before any owner is asked. */
  restoreBans(): void {
    for (const [owner, reason] of this.deps.partial.journal.bans) this.deps.owners.ban(owner, reason);
  }

  /**
   * A part was just taken in from `owner`: maybe cross-check it. Returns the
   * check's promise (never rejects), or null when this part is not checked.
   */
  afterAccept(part: number, owner: Owner): Promise<void> | null {
    const { partial, random } = this.deps;
    const tuning = { ...CHECK_DEFAULTS, share: this.deps.checkShare };
    const disputed = this.disputed.has(owner.key);
    if (random() >= checkChance({ passed: this.passed.get(owner.key) ?? 0, disputed }, { parts: partial.parts, checks: this.checks }, tuning)) return null;
    const other = this.pickHolder(part, [owner.key]);
    if (!other) return null;
    this.checks++;
    return this.crossCheck(part, owner.key, other).catch((err: Error) => {
      this.deps.log.debug({ part, owner: other.key, err: err.message }, 'cross-check failed');
    });
  }

  /** A listed, unbanned owner of `part` other than `exclude`, at random; idle ones first. */
  private pickHolder(part: number, exclude: readonly string[]): Owner | null {
    const { owners, random, now } = this.deps;
    const candidates = [...owners.values()].filter((o) => o.listed && o.banned === null && !exclude.includes(o.key) && hasPart(o.bitmap, part));
    const idle = candidates.filter((o) => owners.available(o, now()));
    return pickOne(idle.length > 0 ? idle : candidates, random);
  }

  private async copyOf(part: number, owner: Owner): Promise<Digest> {
    const { partial } = this.deps;
    const chunks = await this.deps.fetch(part, owner, true);
    const digest = partDigest(chunks);
    const size = partial.partSize(part);
    this.checkBytes += size;
    await partial.witness(part, owner.key, digest);
    if (digest !== partial.digest(part) && this.keptBytes + size <= KEPT_BYTES) {
      let m = this.kept.get(part);
      if (!m) this.kept.set(part, (m = new Map()));
      if (!m.has(digest)) {
        m.set(digest, { owner: owner.key, chunks });
        this.keptBytes += size;
      }
    }
    return digest;
  }

  private async crossCheck(part: number, supplier: string, other: Owner): Promise<void> {
    const { partial, log } = this.deps;
    const theirs = await this.copyOf(part, other);
    const ours = partial.journal.evidence.get(part)?.get(supplier);
    if (ours === undefined) return;
    if (theirs === ours) {
      this.passed.set(supplier, (this.passed.get(supplier) ?? 0) + 1);
      this.passed.set(other.key, (this.passed.get(other.key) ?? 0) + 1);
      return;
    }
    log.warn({ part, a: supplier, b: other.key }, 'two owners sent different bytes for one part; asking a third');
    const third = this.pickHolder(part, [supplier, other.key]);
    if (third) await this.copyOf(part, third);
    const verdict = judge(partial.journal.evidence.get(part) ?? new Map());
    if (!verdict.winner) {
      // Only the whole-file md5 can tell: check everything these owners send from now on.
      for (const o of partial.journal.evidence.get(part)?.keys() ?? []) this.disputed.add(o);
      return;
    }
    const agree = [...(partial.journal.evidence.get(part) ?? [])].filter(([, d]) => d === verdict.winner).map(([o]) => o);
    for (const liar of verdict.liars) await this.ban(liar, `sent wrong bytes for part ${part} (${agree.join(' and ')} agree on other bytes)`, [part]);
  }

  /** Bans `owner` for this file (kept across restarts) and drops every part it sent that we hold. */
  private async ban(owner: string, reason: string, wrong: readonly number[]): Promise<void> {
    const { partial, owners } = this.deps;
    if (owners.isBanned(owner)) return;
    owners.ban(owner, reason);
    await partial.ban(owner, reason);
    for (const p of wrong) this.wrongParts.add(p);
    for (const [part, rec] of partial.journal.records) {
      if (rec.owner !== owner || !partial.has(part)) continue;
      await partial.drop(part);
      this.deps.dropped(part);
    }
    this.deps.banned({ owner, reason, parts: [...wrong] });
  }

  /**
   * The whole-file md5 failed (`verify` says whether it now holds). Guess,
   * re-fetch, re-check until verified; returns the report, or what is missing
   * when no honest copy of some part can be found.
   */
  async heal(verify: () => Promise<boolean>): Promise<{ ok: true; report: HealReport } | { ok: false; plan: Extract<HealPlan, { kind: 'stuck' }> }> {
    const { partial, owners, log } = this.deps;
    const started = this.deps.now();
    const tried = new Set<string>();
    let refetched = 0;
    let rounds = 0;
    for (;;) {
      const disk = new Map<number, DiskCopy>();
      for (const [part, rec] of partial.journal.records) disk.set(part, rec);
      const listed = [...owners.values()].filter((o) => o.listed);
      const holders = Array.from({ length: partial.parts }, (_, part) => listed.filter((o) => hasPart(o.bitmap, part)).map((o) => o.key));
      const plan = planHeal({
        parts: partial.parts,
        evidence: partial.journal.evidence,
        disk,
        holders: (part) => holders[part] ?? [],
        tried,
        random: this.deps.random,
      });
      if (this.deps.stopped()) throw new FileError(ErrorCode.BAD_STATE, 'download stopped while healing');
      if (plan.kind === 'try' && rounds >= (this.deps.maxRounds ?? 12)) {
        log.error({ rounds, untested: plan.liars }, 'giving up healing: too many guesses failed');
        return { ok: false, plan: { kind: 'stuck', liars: plan.liars, parts: plan.refetch.map((r) => r.part) } };
      }
      if (plan.kind === 'stuck') return { ok: false, plan };
      tried.add(liarKey(plan.liars));
      rounds++;
      log.warn({ guess: plan.liars, parts: plan.refetch.length, round: rounds }, 'md5 mismatch: fetching the parts these owners sent from others');
      const got = await this.refetch(plan.refetch);
      refetched += got;
      if (!(await verify())) continue;
      return { ok: true, report: await this.confirm(started, refetched, rounds) };
    }
  }

  /**
   * Fetches each part from its first owner that answers and overwrites the copy
   * on disk. In rounds over the whole list: a part refused now (choked, or a
   * seed that first spreads parts it never sent) is asked again after the
   * others, not retried in place while the rest wait.
   */
  private async refetch(list: readonly Refetch[]): Promise<number> {
    const { partial, owners, log } = this.deps;
    const attempts = this.deps.attempts ?? 5;
    const retryMs = this.deps.retryMs ?? 700;
    let done = 0;
    let pending = [...list];
    // Copies already in hand (kept from a dispute) need no fetch.
    pending = [];
    for (const job of list) {
      const copy = job.digest === undefined ? undefined : this.kept.get(job.part)?.get(job.digest);
      if (copy) {
        await partial.write(job.part, copy.chunks, copy.owner);
        done++;
      } else pending.push(job);
    }
    for (let round = 0; round < attempts && pending.length > 0; round++) {
      if (round > 0) await sleep(retryMs);
      const queue = [...pending];
      const failed: typeof pending = [];
      const worker = async (): Promise<void> => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          let ok = false;
          for (const key of job.from) {
            const owner = owners.get(key);
            if (!owner) continue;
            try {
              const chunks = await this.deps.fetch(job.part, owner, false);
              await partial.write(job.part, chunks, key);
              done++;
              ok = true;
              break;
            } catch (err) {
              log.debug({ part: job.part, owner: key, err: (err as Error).message }, 'heal fetch failed');
            }
          }
          if (!ok) failed.push(job);
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
      pending = failed;
    }
    if (pending.length > 0) log.warn({ parts: pending.map((j) => j.part) }, 'could not fetch some parts again while healing');
    return done;
  }

  /**
   * The file verified (healed or not): its digests are the truth. Bans who
   * lied (a dispute only the md5 could settle), lifts bans a bought majority made.
   */
  async confirm(started: number, refetched: number, rounds: number): Promise<HealReport> {
    const { partial, owners, log } = this.deps;
    const liars = provenLiars(partial.journal.evidence, (p) => partial.journal.records.get(p)?.digest);
    for (const [owner, parts] of liars) {
      for (const p of parts) this.wrongParts.add(p);
      if (owners.isBanned(owner)) continue;
      const reason = `sent wrong bytes for part${parts.length > 1 ? 's' : ''} ${parts.join(', ')} (shown by the whole-file md5)`;
      owners.ban(owner, reason);
      await partial.ban(owner, reason);
      this.deps.banned({ owner, reason, parts });
    }
    for (const b of owners.banned()) {
      if (liars.has(b.key) || !this.sentAnything(b.key)) continue;
      log.warn({ owner: b.key, was: b.reason }, 'ban lifted: the verified file shows this owner sent the right bytes');
      owners.unban(b.key);
      await partial.ban(b.key, null);
      this.deps.unbanned(b.key, `the verified file shows it sent the right bytes (it had been banned: ${b.reason})`);
    }
    const wrong = [...this.wrongParts].sort((a, b) => a - b);
    return {
      wrong,
      liars: [...liars].map(([owner, parts]) => ({ owner, parts })),
      refetched,
      rounds,
      seconds: (this.deps.now() - started) / 1000,
    };
  }

  private sentAnything(owner: string): boolean {
    for (const copies of this.deps.partial.journal.evidence.values()) if (copies.has(owner)) return true;
    return false;
  }

  /** Wrong parts found so far (by majority), for a report without a heal. */
  get wrongSoFar(): readonly number[] {
    return [...this.wrongParts].sort((a, b) => a - b);
  }
}
