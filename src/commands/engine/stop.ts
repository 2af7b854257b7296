import * as Flags from '@oclif/core/flags';
import { LblabCommand } from '../../cli/base-command.js';
import type { StopSandboxResult } from '../../sandbox/index.js';

export type EngineStopResult = StopSandboxResult;

export default class EngineStop extends LblabCommand {
  static override summary = 'Stop the sandbox engine: halt the UML guest cleanly and remove its tap device.';

  static override description = [
    'The guest stops its containers, unmounts its Docker disk and powers off; a guest that does not halt within --timeout seconds is killed. Containers and images in the sandbox are kept for the next start.',
    'Stopping a sandbox that is not running only cleans up what a dead one left behind.',
  ].join('\n\n');

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ];

  static override flags = {
    timeout: Flags.integer({
      description: 'Seconds the guest gets to halt by itself before it is killed',
      default: 30,
      min: 1,
    }),
  };

  async run(): Promise<EngineStopResult> {
    const { flags } = await this.parse(EngineStop);
    const { stopSandbox } = await import('../../sandbox/index.js');
    const result = await stopSandbox({
      haltTimeoutMs: flags.timeout * 1000,
      onProgress: (line) => this.progress(line),
    });
    if (!result.wasRunning) this.log('The sandbox was not running');
    else if (result.halt === 'clean') this.log(`Stopped the sandbox: clean halt in ${result.seconds} s`);
    else this.log(`Stopped the sandbox: it did not halt by itself and was killed (${result.seconds} s)`);
    return result;
  }
}
