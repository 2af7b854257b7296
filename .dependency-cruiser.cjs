/* global module */
/**
 * lblab's layers, lowest first: a module may import from its own layer and the ones below it, never
 * from a layer above, and no two modules may import each other in a circle. ARCHITECTURE.md says what
 * each layer owns. There are no exceptions for src/: fix the import, or move the code to the right room.
 */
const LAYERS = [
  ['util', 'small helpers with no lblab vocabulary: clock and polling, text, tables, PATH, IPv4'],
  ['core', 'shared vocabulary: topology and plan types, engine facts, issues, labels, runtime interfaces'],
  ['checks', 'readiness and wait conditions: one module per check type, their registry, the poll loop'],
  ['kinds', 'node kinds and LVS forwarding methods: what each contributes to a plan (pure)'],
  ['verify', 'verify step types (one handler each), their registry, the runner and the report'],
  ['topology', 'reading and validating a topology file'],
  ['plan', 'compile: topology -> Plan, and its human rendering (pure)'],
  [
    'pictures',
    'pictures of a lab and its results: the topology graph (SVG, DOT, Mermaid) and the HTML report (pure)',
  ],
  ['runtime', 'Docker behind the runtime interfaces: DockerRuntime, SplitRuntime, the Engine'],
  ['images', "lblab's node image: its inputs and how it is built, through an ImageStore"],
  ['sandbox', 'the sandbox engine: a Docker engine in a User-Mode Linux guest'],
  ['apply', 'making a Plan real: preflight, apply with rollback, teardown by label'],
  ['lab', 'the lifecycle the commands call: engine selection, up, down, status, verify'],
  ['classroom', 'exercises (break, checks with points and hints, solution), grades, a class of labs'],
  ['cli', 'what the commands share: base command, errors on screen, build artifacts'],
  ['commands', 'the oclif commands, thin'],
].map(([name]) => name);

const folder = (name) => `^src/${name}/`;

module.exports = {
  forbidden: [
    // The top layer has nothing above it to forbid.
    ...LAYERS.slice(0, -1).map((layer, index) => ({
      name: `${layer}-imports-downhill-only`,
      comment: `${layer} may import only from: ${LAYERS.slice(0, index + 1).join(', ')}`,
      severity: 'error',
      from: { path: folder(layer) },
      to: { path: LAYERS.slice(index + 1).map(folder) },
    })),
    {
      name: 'src-in-a-layer',
      comment: 'every module of src/ lives in one of the layers above (so every import is ruled on)',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(folder) },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'import circles hide which module owns an idea',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
