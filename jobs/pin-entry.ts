import { defineJob } from '../src/deps';
import { pinEntryJob } from '../src/incidents/pin-contract';
import { addPin } from '../src/incidents/pins';

/** A :pushpin: in an incident channel: the message read and put in the timeline, once. */
export const pinEntryProcessor = defineJob(pinEntryJob, (pin, ctx) => addPin(ctx, pin));
