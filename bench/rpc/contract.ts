import { defineService, type, unary } from '../../src/contract/define.js';
import type { Payload } from './payload.js';

/** The Tensile echo service: type-only (no validation), like the other rows' bare echo. */
export const Echo = defineService('bench', {
  echo: unary({ input: type<Payload>(), output: type<Payload>() }),
});
