/**
 * Everything a peer process plugs into the bandwidth seams, built from its
 * command-line settings in one call:
 *
 *   const bw = createBandwidthPolicy({ upRate: parseRate(o.upRate), downRate: parseRate(o.downRate), noUpload: o.noUpload, log });
 *   new Peer({ ..., upThrottle: bw.upThrottle, admission: bw.admission, traffic: bw.traffic });
 *   // downloads: bw.downThrottle (consume each received chunk)
 *   bw.start();   // after the listener is up: first re-choke round, then every 10 s
 *   bw.stop();    // on shutdown
 *   bw.status();  // per-remote bytes, rates and choke state (dashboard, --json)
 */
import type { Logger } from '../../log.js';
import type { RemoteKey, TrafficRecorder, UploadAdmission } from '../bandwidth.js';
import { type ChokerServiceOptions, type ChokerStatus, ChokerService } from '../choke/service.js';
import { type RateLimiter, createThrottle } from './throttle.js';

/** A free rider: every upload request is refused (the uploader closes without a reply). */
export const REFUSE_ALL: UploadAdmission = { admit: () => Promise.resolve(null) };

export interface BandwidthSettings {
  /** Bytes/s, 0 = unlimited. Shared by every upload connection. */
  upRate: number;
  /** Bytes/s, 0 = unlimited. Shared by every download connection. */
  downRate?: number;
  /** Never serve anybody (free rider, for benchmarks). */
  noUpload?: boolean;
  /** Choker tuning (uploadSlots, admissionWaitMs, ...) and injected clock/timers. */
  choker?: ChokerServiceOptions;
  /** Logs each re-choke round at debug level. */
  log?: Logger;
}

export interface BandwidthPolicy {
  upThrottle: RateLimiter;
  downThrottle: RateLimiter;
  admission: UploadAdmission;
  traffic: TrafficRecorder;
  choker: ChokerService;
  start(): void;
  stop(): void;
  status(): ChokerStatus & { upRate: number; downRate: number; noUpload: boolean };
}

export function createBandwidthPolicy(settings: BandwidthSettings): BandwidthPolicy {
  const { log } = settings;
  const choker = new ChokerService({
    ...settings.choker,
    onRound: (r) => {
      settings.choker?.onRound?.(r);
      if (r.unchokedNow.length || r.chokedNow.length) {
        log?.debug({ round: r.round, mode: r.mode, regular: r.regular, optimistic: r.optimistic, unchoked: r.unchokedNow, choked: r.chokedNow }, 'rechoke');
      }
    },
  });
  const upThrottle = createThrottle({ rate: settings.upRate });
  const downThrottle = createThrottle({ rate: settings.downRate ?? 0 });
  const noUpload = Boolean(settings.noUpload);
  return {
    upThrottle,
    downThrottle,
    admission: noUpload ? REFUSE_ALL : choker,
    traffic: {
      uploaded: (remote: RemoteKey, bytes: number) => choker.uploaded(remote, bytes),
      downloaded: (remote: RemoteKey, bytes: number) => choker.downloaded(remote, bytes),
    },
    choker,
    start: () => choker.start(),
    stop: () => choker.stop(),
    status: () => ({ ...choker.status(), upRate: upThrottle.rate, downRate: downThrottle.rate, noUpload }),
  };
}
