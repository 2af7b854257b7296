import * as Flags from '@oclif/core/flags';
import { LblabCommand } from '../../cli/base-command.js';
import { StageRows } from '../../cli/progress-rows.js';
import type { Interfaces } from '@oclif/core';
import type {
  LoadImagesOptions,
  LoadedImage,
  SandboxNodeImageResult,
  StartSandboxResult,
} from '../../sandbox/index.js';
import { LINK_CIDR_ENV } from '../../sandbox/link-address.js';

export interface EngineStartResult extends StartSandboxResult {
  dockerHost: string;
  /** Absent with --no-node-image. */
  nodeImage?: SandboxNodeImageResult;
  /** The --image refs, loaded from the host engine. */
  images: LoadedImage[];
}

type StartFlags = Interfaces.InferredFlags<typeof EngineStart.flags>;

export default class EngineStart extends LblabCommand {
  static override summary =
    'Start the sandbox engine: a private Docker engine in a User-Mode Linux guest with IPVS.';

  static override description = [
    "For hosts whose kernel has no IPVS. The guest runs as an ordinary process (no KVM) on a tap link to the host, and its dockerd listens on the guest's link address only.",
    'The first start installs user-mode-linux if needed and builds the guest root with mmdebstrap (~30 s); later starts boot in seconds. Starting a running sandbox changes nothing and prints the same DOCKER_HOST. Needs root.',
    'State lives in $LBLAB_STATE_DIR/sandbox (default /var/lib/lblab/sandbox).',
  ].join('\n\n');

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'export $(<%= config.bin %> <%= command.id %>)   # then plain `docker ps` talks to the sandbox',
    '<%= config.bin %> <%= command.id %> --link 198.51.100.8/30 --no-node-image --json',
    '<%= config.bin %> <%= command.id %> --image nginx:stable',
  ];

  static override flags = {
    link: Flags.string({
      description: `IPv4 network of the host-guest link, host on .1, guest on .2 [default: $${LINK_CIDR_ENV} or 198.51.100.0/30]`,
    }),
    tap: Flags.string({ description: 'Host tap device of the link [default: lblab-sandbox]' }),
    memory: Flags.string({
      description: 'Guest RAM, committed on the host only as it is used [default: 1536M]',
    }),
    'docker-iptables': Flags.boolean({
      description:
        "Let the guest's dockerd manage iptables (NAT, network isolation); adds seconds to every start",
    }),
    'node-image': Flags.boolean({
      description:
        "Build lblab's node image (on the host engine when one answers) and load it into the sandbox",
      default: true,
      allowNo: true,
    }),
    image: Flags.string({
      description: 'Also load this image from the host engine (repeatable)',
      multiple: true,
    }),
    timeout: Flags.integer({
      description: "Seconds to wait for the guest's dockerd to answer",
      default: 60,
      min: 1,
    }),
  };

  async run(): Promise<EngineStartResult> {
    const { flags } = await this.parse(EngineStart);
    const display = await this.openProgress('lblab engine start');
    // A row per stage (host tools, guest root, boot, node image, each image's copy with its rate).
    const rows = new StageRows(display, 'sandbox');
    try {
      const result = await this.start(flags, {
        onProgress: (line) => rows.line(line),
        onTransfer: (t) => rows.transfer(t.ref, t.bytes, t.seconds),
      });
      rows.finish();
      display.close();
      this.log(`DOCKER_HOST=${result.dockerHost}`);
      return result;
    } catch (error) {
      rows.fail(error);
      throw error;
    }
  }

  private async start(flags: StartFlags, progress: LoadImagesOptions): Promise<EngineStartResult> {
    const { ensureNodeImageInSandbox, loadImagesIntoSandbox, sandboxImageStores, startSandbox } =
      await import('../../sandbox/index.js');
    const started = await startSandbox({
      linkCidr: flags.link,
      tap: flags.tap,
      memory: flags.memory,
      dockerIptables: flags['docker-iptables'],
      readyTimeoutMs: flags.timeout * 1000,
      onProgress: progress.onProgress,
    });
    const { dockerHost } = started.endpoint;
    const stores = await sandboxImageStores(dockerHost);

    const nodeImage = flags['node-image'] ? await ensureNodeImageInSandbox(stores, progress) : undefined;
    const extraRefs = flags.image ?? [];
    if (extraRefs.length > 0 && stores.host === undefined) {
      throw new Error('--image needs a host engine to load from, and none answers (see DOCKER_HOST)');
    }
    const images =
      stores.host === undefined
        ? []
        : await loadImagesIntoSandbox(stores.host, stores.guest, extraRefs, progress);
    return { ...started, dockerHost, nodeImage, images };
  }
}
