import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, labPoolFlag, LblabCommand } from '../cli/base-command.js';
import type { LabGraph } from '../pictures/graph.js';
import { GRAPH_FORMATS, graphFormatFor, type GraphFormat } from '../pictures/render-graph.js';

export interface GraphResult {
  format: GraphFormat;
  /** The file written (absolute), with -o. */
  output?: string;
  graph: LabGraph;
  /** The picture itself, without -o. */
  content?: string;
}

export default class Graph extends LblabCommand {
  static override summary =
    "Draw a lab: networks, nodes, VIPs, virtual services, OSPF adjacencies (--live: the running lab's state).";
  static override description =
    'Formats: svg (laid out by Graphviz compiled to WebAssembly; no dot binary needed), html (the SVG with a legend, ' +
    'one self-contained page), mermaid (a flowchart; in a ```mermaid block for a .md file) and dot. The format ' +
    'follows the -o file name (.svg, .html, .dot/.gv, .mmd/.md) unless --format says otherwise. The same file ' +
    'always gives the same picture, byte for byte. --live adds what runs now: each node up or down, and each ' +
    "router's ECMP nexthops for the VIP.";
  static override examples = [
    '<%= config.bin %> graph topologies/ecmp-lvs-dr.yml -o lab.svg',
    '<%= config.bin %> graph topologies/lvs-nat.yml --format mermaid',
    '<%= config.bin %> graph topologies/ecmp-lvs-dr.yml --live -o lab.html',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };
  static override flags = {
    format: Flags.string({
      char: 'f',
      description: 'picture format (default: from the -o file name, else svg)',
      options: [...GRAPH_FORMATS],
    }),
    output: Flags.string({ char: 'o', description: 'write the picture to this file instead of stdout' }),
    live: Flags.boolean({ description: "add the running lab's node states and the routers' ECMP nexthops" }),
    name: Flags.string({ description: "lab name, as `up --name` took it (default: the file's name:)" }),
    engine: engineFlag,
    pool: { ...labPoolFlag, dependsOn: ['live'] },
  };

  async run(): Promise<GraphResult> {
    const { args, flags } = await this.parse(Graph);
    const format = graphFormatFor(flags.format, flags.output);
    const { labNameFor } = await import('../cli/lab-name.js');
    const live = flags.live
      ? {
          engine: await this.engineWithLab(flags.engine, await labNameFor(args.file, flags.name), flags.pool),
          required: true,
          upCommand: `lblab up ${args.file}${flags.name ? ` --name ${flags.name}` : ''}${flags.pool ? ` --pool ${flags.pool}` : ''}`,
        }
      : undefined;
    const { drawLab } = await import('../lab/lab-picture.js');
    const picture = await drawLab(args.file, {
      format,
      ...(flags.output !== undefined && { output: flags.output }),
      ...(flags.name !== undefined && { labName: flags.name }),
      ...(live && { live }),
    });
    if (flags.output === undefined) {
      if (!this.jsonEnabled()) process.stdout.write(picture.content);
      return { format, graph: picture.graph, content: picture.content };
    }
    const output = resolve(flags.output);
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, picture.content);
    this.log(
      `wrote the ${format} picture of lab ${picture.lab}${picture.live ? ' (live)' : ''} to ${flags.output}`,
    );
    return { format, output, graph: picture.graph };
  }
}
