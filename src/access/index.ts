/** What other use cases ask of access: the check, the refusal views, the gate's verdicts. */
export { refusalFor, refusalForAlert } from './check';
export { slowDown } from './views';
export type { GateVerdict } from './gate';
export type { Capability } from './domain/rules';
