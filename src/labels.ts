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
  /** One-shot helper containers (sysctl changes, the IPVS probe); never a lab node. */
  helper: 'lblab.helper',
} as const;
