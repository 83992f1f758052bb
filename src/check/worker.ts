/** piscina worker: checks one trace (see check-one.ts). */
import { checkOne } from './check-one.js';

export default checkOne;
