/**
 * Search by flooding among peers: pure decisions (match, dedup, limiter,
 * neighbors, plan) and the edge service the peer listener calls.
 *
 * Wiring, in the peer:
 *   const flood = createConfiguredFlood(config.neighbors, { self: { address, port }, sharedFiles, logger });
 *   new PeerListener({ ..., handlers: { QUER: (m, r) => flood.onQuer(m, r), AQUE: (m, r) => flood.onAque(m, r) } });
 *   for (const p of afch.peers) flood.learnNeighbor(p.address, p.port);   // after every FCHU
 *   if (settings.query) await flood.query(settings.query.text, { ...settings.query, onHit: (h) => emit(hitEvent(h)) });
 *   // --get-hits / the prompt's `get N`: lookupHit(look, hit.md5, hit.name) for the size, then the usual download.
 *   flood.close();                                           // on shutdown
 */
export * from './courier.js';
export * from './dedup.js';
export * from './hits.js';
export * from './limiter.js';
export * from './neighbors.js';
export * from './configured.js';
export * from './pktid.js';
export * from './plan.js';
export * from './service.js';
