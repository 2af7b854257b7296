/** Runs the built lblab CLI as a user would, for end-to-end tests. */
import { execa, type Result } from 'execa';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SEED_TOPOLOGY = `${PROJECT_ROOT}topologies/ecmp-lvs-dr.yml`;

export async function lblab(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Result> {
  return execa('node', [`${PROJECT_ROOT}bin/run.js`, ...args], {
    cwd: PROJECT_ROOT,
    env: options.env,
    reject: false,
    timeout: options.timeoutMs ?? 300_000,
  });
}

export async function lblabJson<T>(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ result: Result; json: T }> {
  const result = await lblab([...args, '--json'], options);
  let json: T;
  try {
    json = JSON.parse(String(result.stdout)) as T;
  } catch {
    throw new Error(
      `lblab ${args.join(' ')} printed no JSON (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`,
    );
  }
  return { result, json };
}

/** Names of Docker objects (any, labelled or not) whose name contains `fragment`. */
export async function dockerObjectsNamed(
  fragment: string,
): Promise<{ containers: string[]; networks: string[] }> {
  const containers = await execa('docker', ['ps', '-a', '--format', '{{.Names}}']);
  const networks = await execa('docker', ['network', 'ls', '--format', '{{.Name}}']);
  const match = (text: string) => text.split('\n').filter((name) => name && name.includes(fragment));
  return { containers: match(containers.stdout), networks: match(networks.stdout) };
}

export async function dockerObjectsLabelled(
  label: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const list = async (args: string[]) => (await execa('docker', args)).stdout.split('\n').filter(Boolean);
  return {
    containers: await list(['ps', '-aq', '--filter', `label=${label}`]),
    networks: await list(['network', 'ls', '-q', '--filter', `label=${label}`]),
    volumes: await list(['volume', 'ls', '-q', '--filter', `label=${label}`]),
  };
}
