import { Errors } from '@oclif/core';
import { openTopology } from '../topology/open.js';

/** The lab a command is about: --name wins, else the topology file's `name:`. */
export async function labNameFor(file: string | undefined, name: string | undefined): Promise<string> {
  if (name) return name;
  if (!file) throw new Errors.CLIError('give a topology file, --name <lab> or --all');
  return (await openTopology(file)).config.name;
}
