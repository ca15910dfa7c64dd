/**
 * The bot's one door to @kubernetes/client-node's code: every value the product takes from
 * it comes through here (types may be imported from the package directly; they leave no
 * code). `npm run build` (and the image's build) replaces this module's compiled file with
 * a minified bundle of just these exports and what they need (`bundle:client-node` in
 * package.json). The package loads all of its ~900 generated modules, 25 MB of ESM source
 * that V8 keeps in memory; the bundle is 2.4 MB, which takes the worker's resident memory
 * down by about 20 MB and its start by about 0.4 s (README: Runtime and stack notes).
 */
export {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  Observable,
  PatchStrategy,
  VersionApi,
} from '@kubernetes/client-node';
