/** linux: a plain node with the lblab image's tools; it does only what its `exec` list says. */
import { BASE_CAPABILITIES, type NodeKind } from './kind.js';

export const linuxKind: NodeKind = {
  name: 'linux',
  description: 'plain Linux node (curl, iproute2, tcpdump); configure it with exec',
  keys: [],
  capabilities: BASE_CAPABILITIES,
  traits: [],
  check: () => [],
  build: () => ({ files: [], setup: [], readiness: [], logs: [], sysctls: {}, warnings: [] }),
};
