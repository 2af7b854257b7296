import { LblabCommand } from '../../cli/base-command.js';
import type { SandboxStatus } from '../../sandbox/index.js';

export type EngineStatusResult = SandboxStatus;

export default class EngineStatus extends LblabCommand {
  static override summary = 'Show whether the sandbox engine runs, and where its dockerd listens.';

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ];

  async run(): Promise<EngineStatusResult> {
    await this.parse(EngineStatus);
    const { sandboxStatus } = await import('../../sandbox/index.js');
    const status = await sandboxStatus();
    if (status.running) {
      this.log(`running: pid ${status.pid}, tap ${status.tap ?? '?'}`);
      this.log(
        `DOCKER_HOST=${status.dockerHost ?? '(starting)'}${status.answering ? '' : '  (dockerd does not answer)'}`,
      );
    } else {
      this.log(
        status.stale
          ? 'not running (a dead guest left files behind; start or stop cleans them up)'
          : 'not running',
      );
    }
    this.log(`state: ${status.stateDir}`);
    this.log(`guest root: ${status.rootHash ?? 'not built yet'}`);
    this.log(`console log: ${status.consoleLog}`);
    return status;
  }
}
