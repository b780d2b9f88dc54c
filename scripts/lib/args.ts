/** Command-line values shared by the demo and the benchmarks: the same parsers as the CLI's (src/units.ts). */
export { numberArg, rateArg } from '../../src/units.js';
