/** What other use cases may ask of maintenance: the actions behind an approved request. */
export { cancelWindow, endWindowEarly, moveWindow, scheduleWindow, WindowNotLifted } from './actions';
