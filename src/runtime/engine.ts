/**
 * Which Docker engine a lab runs on. `docker` is the host engine (DOCKER_HOST or the local socket);
 * `sandbox` is lblab's private engine inside a User-Mode Linux guest whose kernel has IPVS.
 */
import Docker from 'dockerode';
import type { Agent } from 'node:http';
import { LABEL } from '../core/labels.js';
import { DockerRuntime } from './docker-runtime.js';
import type { ContainerRuntime } from '../core/runtime.js';
import type { EngineFacts, EngineName } from '../core/engine.js';

/** What a probe of an engine's kernel learns (core/engine.ts's facts, less what lblab decides). */
export type KernelFacts = Omit<EngineFacts, 'engine' | 'splitsNodes'>;

/**
 * Kernel facts kept across lblab processes for as long as the engine is the same one: probing takes
 * a container run (~8 s in the sandbox guest), and its kernel cannot change until it restarts.
 */
export interface KernelFactsMemo {
  recall(image: string): Promise<KernelFacts | undefined>;
  remember(image: string, facts: KernelFacts): Promise<void>;
}

export type EngineChoice = 'docker' | 'sandbox' | 'auto';

/** What an engine can do, asked instead of comparing engine names. */
export interface EngineCapabilities {
  /** Bind mounts of host paths reach the containers (the sandbox guest cannot see the host's files). */
  binds: boolean;
}

export interface Engine {
  /** What `status` and `class` print: docker or sandbox, or the engine's name in a pool file. */
  name: string;
  /** What the engine is: its timers and timeouts follow (plan/engine-tuning.ts), and its scope label. */
  kind: EngineName;
  runtime: ContainerRuntime;
  capabilities: EngineCapabilities;
  /** Sandbox: only the nodes that need the guest's kernel run in it, the rest on the host engine. */
  splitsNodes: boolean;
  /** Why this engine was chosen (printed, and recorded in `status --json`). */
  reason: string;
  /**
   * After a failed `up`: if the engine itself died (the sandbox guest was killed), clean up what it
   * left (its tap, pid file, endpoint, and the lab's host-side nodes) and say what happened.
   */
  explainFailure?(lab: string): Promise<string | undefined>;
  /** Absent: the engine's kernel is probed once per process (the host's may gain modules any time). */
  kernelFacts?: KernelFactsMemo;
  /** Makes sure lblab's node image is on this engine; returns its ref. */
  prepareNodeImage(
    onProgress: (line: string) => void,
  ): Promise<{ ref: string; built: boolean; source: string }>;
}

/** The label each engine stamps on its objects and filters by (see DockerRuntimeOptions.scope). */
export const ENGINE_SCOPE = {
  docker: { [LABEL.engine]: 'docker' },
  sandbox: { [LABEL.engine]: 'sandbox' },
} as const;

export function hostDockerEndpoint(): string {
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** A remote engine's TLS files' contents (Docker's own --tlscacert, --tlscert, --tlskey). */
export interface EngineTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * A client for unix:///path, tcp://host:port (TLS when given files, port 2376 then, else 2375) or
 * ssh://user@host[:port] (the Docker socket on the far side through ssh, keys from ssh-agent).
 */
export function dockerClientFor(endpoint: string, agent?: Agent, tls?: EngineTls): Docker {
  if (endpoint.startsWith('unix://')) return new Docker({ socketPath: endpoint.slice('unix://'.length) });
  const url = new URL(endpoint);
  if (url.protocol === 'ssh:') {
    return new Docker({
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(process.env.SSH_AUTH_SOCK && { sshOptions: { agent: process.env.SSH_AUTH_SOCK } }),
    });
  }
  // docker-modem takes an http.Agent for every request (its types do not list it).
  const options: Docker.DockerOptions & { agent?: Agent } = {
    host: url.hostname,
    port: Number(url.port || (tls ? 2376 : 2375)),
    protocol: tls ? 'https' : 'http',
    ...(tls && { ca: tls.ca, cert: tls.cert, key: tls.key }),
    agent,
  };
  return new Docker(options);
}

/** Connects to the host engine, or explains how to get one. */
export async function connectHostDocker(): Promise<DockerRuntime> {
  const endpoint = hostDockerEndpoint();
  const runtime = new DockerRuntime(dockerClientFor(endpoint), endpoint, { scope: ENGINE_SCOPE.docker });
  try {
    await runtime.ping();
  } catch (error) {
    throw new Error(
      `no Docker engine answers at ${endpoint} (${(error as Error).message}). ` +
        'Start one: sudo scripts/setup-host.sh (installs docker.io and starts dockerd), or use --engine sandbox',
      { cause: error },
    );
  }
  return runtime;
}
