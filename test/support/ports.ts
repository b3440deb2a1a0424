export { freePort } from '../../src/adapters/ports.ts';
