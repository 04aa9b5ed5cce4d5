export {
  type BmcFleet,
  type BmcServeOptions,
  expandAddresses,
  type ServedNode,
  serveBmcs,
} from './bmc-serve.ts';
export { runDemo } from './demo.ts';
