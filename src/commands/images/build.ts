import * as Flags from '@oclif/core/flags';
import { LblabCommand } from '../../cli/base-command.js';
import type { EnsureNodeImageResult } from '../../images/node-image.js';

export type ImagesBuildResult = EnsureNodeImageResult;

export default class ImagesBuild extends LblabCommand {
  static override summary = 'Build the lblab node image if its inputs under images/ changed.';
  static override description =
    'The image is tagged lblab/node:<hash of images/>, so this is a quick no-op when it already exists. ' +
    'When a container registry is reachable it is built from debian:bookworm-slim; otherwise on a base root ' +
    "filesystem that mmdebstrap makes from Debian's package mirrors (needs root and mmdebstrap, which " +
    'scripts/setup-host.sh installs). Uses the engine at DOCKER_HOST, or the local socket.';

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --force',
    'DOCKER_HOST=unix:///var/run/docker.sock <%= config.bin %> <%= command.id %> --json',
  ];

  static override flags = {
    force: Flags.boolean({ description: 'Rebuild even if an image for the current inputs exists.' }),
  };

  async run(): Promise<ImagesBuildResult> {
    const { flags } = await this.parse(ImagesBuild);
    // Progress goes to stderr so stdout carries only the result.
    const [{ connectHostDocker }, { ensureNodeImage }] = await Promise.all([
      import('../../runtime/engine.js'),
      import('../../images/node-image.js'),
    ]);
    const host = await connectHostDocker();
    const result = await ensureNodeImage(host, {
      force: flags.force,
      onProgress: (line) => this.progress(line),
    });
    this.log(result.built ? `Built ${result.ref}` : `${result.ref} is up to date`);
    this.log(`source: ${result.source}, ${result.seconds} s`);
    return result;
  }
}
