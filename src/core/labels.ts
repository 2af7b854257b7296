/** Every Docker object lblab creates carries these labels; teardown finds objects by them alone. */
export const LABEL = {
  lab: 'lblab.lab',
  node: 'lblab.node',
  kind: 'lblab.kind',
  network: 'lblab.network',
  topologyHash: 'lblab.topology-hash',
  topologyFile: 'lblab.topology-file',
  version: 'lblab.version',
  dataPlane: 'lblab.data-plane',
  addresses: 'lblab.addresses',
  /** Which engine's lab an object belongs to (docker or sandbox): both may keep objects on the host engine. */
  engine: 'lblab.engine',
  /** `guest`: a sandbox lab's node that runs inside the UML guest (it needs the guest's kernel). */
  placement: 'lblab.placement',
  /** The guest interface (vec1...) that carries a sandbox lab network between host and guest. */
  labLink: 'lblab.lab-link',
  /** One-shot helper containers (sysctl changes, the IPVS probe); never a lab node. */
  helper: 'lblab.helper',
} as const;
