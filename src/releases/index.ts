/** What other use cases use of releases: recording, history, images, and the bake watch. */
export { historyOf, indexRelease, recordRelease } from './record';
export { colourImages, releaseImageOf } from './images';
export { previousLive, promotionOf } from './domain/history';
export { promotionProblem } from './promotion';
export { watchAfterChange, watchAlert } from './watch';
