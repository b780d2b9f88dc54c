/**
 * The flooding service of a peer with its configured neighbours pinned. A
 * configured neighbour that is the peer itself, one too many, or unusable is a
 * configuration mistake: an ArgumentError, not a silent drop.
 */
import { ArgumentError } from '../../errors.js';
import { formatHostPort } from '../../protocol/address.js';
import { DEFAULT_MAX_NEIGHBORS, NeighborSet } from './neighbors.js';
import { type FloodService, type FloodServiceOptions, createFloodService } from './service.js';

export function createConfiguredFlood(
  configured: readonly { readonly host: string; readonly port: number }[],
  deps: Omit<FloodServiceOptions, 'neighbors'> & { readonly maxNeighbors?: number },
): FloodService {
  const { maxNeighbors, ...rest } = deps;
  const set = new NeighborSet({ self: deps.self, maxNeighbors: maxNeighbors ?? DEFAULT_MAX_NEIGHBORS });
  for (const n of configured) {
    const result = set.addConfigured(n.host, n.port);
    const where = formatHostPort(n.host, n.port);
    if (result === 'self') throw new ArgumentError(`--neighbor ${where} is this peer itself`);
    if (result === 'full') throw new ArgumentError(`too many --neighbor (at most ${set.maxNeighbors})`);
    if (result === 'unusable') throw new ArgumentError(`--neighbor ${where} is not a usable address`);
  }
  return createFloodService({ ...rest, neighbors: set });
}
