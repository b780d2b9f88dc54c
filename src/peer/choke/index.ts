/** Upload slots behind the `UploadAdmission`/`TrafficRecorder` seams (src/peer/bandwidth.ts). */
export { Choker, type PeerStatus, type Priority, type RefusalReason, type RoundResult } from './choker.js';
export { DEFAULT_CHOKER_OPTIONS, type ChokerOptions, chokerOptions } from './options.js';
export { PeerRecords, DEFAULT_RECORD_OPTIONS, type Holding, type RecordOptions } from './record.js';
export { ChokerService, type ChokerServiceOptions, type ChokerStatus, type ServingPeerStatus, type Timers } from './service.js';
export { rank, pickWeighted, type Candidate, type ChokeMode } from './ranking.js';
export { RateMeter } from './rate-meter.js';
