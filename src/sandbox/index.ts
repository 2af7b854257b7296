/** The sandbox engine's public surface: what commands, engine selection and tests use. */
export {
  startSandbox,
  stopSandbox,
  sandboxStatus,
  runningSandboxEndpoint,
  type StartSandboxOptions,
  type StartSandboxResult,
  type StopSandboxOptions,
  type StopSandboxResult,
  type SandboxEndpoint,
  type SandboxStatus,
} from './sandbox-engine.js';
export { canRunSandbox, type SandboxPrerequisites } from './host-tools.js';
export {
  loadImagesIntoSandbox,
  ensureNodeImageInSandbox,
  hostEngineBesides,
  sandboxImageStores,
  type SandboxImageStores,
  type LoadedImage,
  type SandboxNodeImageResult,
  type ImageTransfer,
  type LoadImagesOptions,
} from './load-images.js';
export { sandboxPaths, sandboxStateDir, lblabStateDir, type SandboxPaths } from './sandbox-paths.js';
export {
  DEFAULT_LINK_CIDR,
  LINK_CIDR_ENV,
  planLinkAddresses,
  type HostRoute,
  type LinkAddresses,
} from './link-address.js';
export { findSandboxProcesses } from './uml-process.js';
export { sandboxLabLinks, type LabLink } from './lab-links.js';
