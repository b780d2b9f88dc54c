/** The prompt's `status` text and the `--json` `peers` record, from one PeerStatus snapshot. */
import type { PeerStatus } from '../../peer/index.js';
import { formatBytes, formatRate } from '../../units.js';

const speed = (bytesPerSecond: number): string => `${formatBytes(bytesPerSecond || 0)}/s`;

export function statusText(st: PeerStatus): string {
  const lines: string[] = [`peer ${st.ip4} / ${st.ip6} port ${st.port}`];
  for (const d of st.downloads) {
    const parts = d.parts > 0 ? `${d.have}/${d.parts} parts` : 'size not known yet';
    const owners = `${d.owners} ${d.owners === 1 ? 'owner' : 'owners'} listed, fetching from ${d.activeOwners}`;
    const checked = d.crossChecks > 0 ? `, ${d.crossChecks} cross-checked with a second owner` : '';
    lines.push(`  get ${d.md5} ${d.name ?? ''}: ${d.state}, ${parts}, ${owners}${checked}`);
    for (const b of d.banned) lines.push(`    banned ${b.key}: ${b.reason}`);
  }
  for (const f of st.shares) lines.push(`  share ${f.md5} ${f.name}: ${f.parts} parts, ${f.size} bytes`);
  const b = st.bandwidth;
  lines.push(
    `  sent ${formatBytes(b.uploaded)}, now ${speed(b.uploadRate)} (upload limit ${formatRate(b.upRate)})${b.noUpload ? ', uploads off' : ''}; ` +
      `received ${formatBytes(b.downloaded)}, now ${speed(b.downloadRate)} (download limit ${formatRate(b.downRate)})`,
    `  choker: ${b.mode}, round ${b.round}, ${b.uploadSlots} upload slots + 1 optimistic; we upload to ${b.unchoked.length ? b.unchoked.join(', ') : 'nobody'}`,
  );
  for (const p of [...b.peers].sort((x, y) => y.uploaded + y.downloaded - (x.uploaded + x.downloaded))) {
    // `choked` is our decision about them: whether we upload to them. Whether they upload to us shows as bytes received.
    const ours = p.optimistic ? 'we upload to them (optimistic slot)' : p.choked ? 'we choke them (no upload to them)' : 'we upload to them';
    lines.push(
      `  peer ${p.remote.padEnd(15)} sent ${formatBytes(p.uploaded).padStart(9)} ${speed(p.uploadRate).padStart(12)}  received ${formatBytes(p.downloaded).padStart(9)} ${speed(p.downloadRate).padStart(12)}  ` +
        `${ours}${p.serving ? `, sending ${p.serving} part(s)` : ''}${p.waiting ? `, ${p.waiting} waiting` : ''}${p.snubbed ? ', snubbed us' : ''}`,
    );
  }
  return lines.join('\n');
}

/** The `--json` `peers` record: per remote peer, bytes each way, rates, choke state. */
export function peersRecord(st: PeerStatus): Record<string, unknown> {
  const b = st.bandwidth;
  return {
    mode: b.mode,
    round: b.round,
    uploadSlots: b.uploadSlots,
    upLimit: b.upRate,
    downLimit: b.downRate,
    noUpload: b.noUpload,
    uploaded: b.uploaded,
    downloaded: b.downloaded,
    uploadRate: Math.round(b.uploadRate),
    downloadRate: Math.round(b.downloadRate),
    unchoked: b.unchoked,
    optimistic: b.optimistic,
    servingPeers: b.servingPeers,
    peers: b.peers.map((p) => ({
      remote: p.remote,
      uploaded: p.uploaded,
      downloaded: p.downloaded,
      uploadRate: Math.round(p.uploadRate),
      downloadRate: Math.round(p.downloadRate),
      choked: p.choked,
      optimistic: p.optimistic,
      interested: p.interested,
      snubbed: p.snubbed,
      serving: p.serving,
      waiting: p.waiting,
    })),
    banned: st.downloads.flatMap((d) => d.banned.map((x) => ({ md5: d.md5, ...x }))),
  };
}
