/** Rate limiting behind the `Throttle` seam (src/peer/bandwidth.ts). */
export { TokenBucket, type TokenBucketOptions, CHUNK_BYTES, BURST_TIME_MS, defaultBurst } from './token-bucket.js';
export { createThrottle, type RateLimiter, type ThrottleOptions } from './throttle.js';

export { createBandwidthPolicy, REFUSE_ALL, type BandwidthPolicy, type BandwidthSettings, type BandwidthStatus } from './policy.js';
export { SAMPLED_AT, SwarmIdentity, type HolderAddress } from './identity.js';
export { SeedSpread } from './spread.js';
