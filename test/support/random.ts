/** The seeded random source lives with the scripts (the simulator uses it too); tests import it from here. */
export { seededRandom } from '../../scripts/lib/random.js';
