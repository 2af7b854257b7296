/** Engine selection for up/down/status/verify: explicit, or `auto` = real IPVS whenever possible. */
import { ensureNodeImage } from '../images/node-image.js';
import { connectHostDocker, type Engine, type EngineChoice } from './engine.js';

export async function selectEngine(
  choice: EngineChoice,
  onProgress: (line: string) => void,
): Promise<Engine> {
  void onProgress;
  if (choice === 'sandbox') throw new Error('the sandbox engine is not wired in yet');
  const runtime = await connectHostDocker();
  return {
    name: 'docker',
    runtime,
    reason: choice === 'docker' ? 'chosen with --engine docker' : 'host engine',
    prepareNodeImage: (progress) => ensureNodeImage(runtime.docker, { onProgress: progress }),
  };
}
