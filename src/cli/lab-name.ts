import * as Errors from '@oclif/core/errors';

/** The lab a command is about: --name wins, else the topology file's `name:`. */
export async function labNameFor(file: string | undefined, name: string | undefined): Promise<string> {
  if (name) return name;
  if (!file) throw new Errors.CLIError('give a topology file, --name <lab> or --all');
  const { openTopology } = await import('../topology/open.js');
  return (await openTopology(file)).config.name;
}
