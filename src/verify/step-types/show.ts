/**
 * show: capture a command's output into the report, from a preset (`what`) or the user's own `cmd`.
 * A show step fails only when its command does; its output is printed whenever another step failed.
 */
import { KIND_TRAIT, type KindTrait } from '../../core/kind-traits.js';
import type { DataPlane } from '../../core/plan.js';
import { parseDuration } from '../../util/duration.js';
import { clip, oneLine } from '../../util/text.js';
import {
  defineStepType,
  failedToRun,
  outputLine,
  timeoutIssues,
  toEvidence,
  type VerifyStep,
} from '../step-type.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './exec.js';

export type ShowPreset = 'director-stats' | 'ipvs-stats' | 'ospf-neighbors' | 'ospf-routes' | 'nft-counters';

export interface ShowStep extends VerifyStep {
  type: 'show';
  /** Exactly one of `what` (a preset) and `cmd` (the user's own command, run with `sh -c`). */
  what?: ShowPreset;
  cmd?: string;
  timeoutMs: number;
}

const IPVS_STATS = ['ipvsadm', '-L', '-n', '--stats'];
const NFT_RULESET = ['nft', 'list', 'ruleset'];

/** `director-stats` follows the director's data plane, so one verify list fits IPVS and nftables labs. */
export const SHOW_PRESETS: Record<
  ShowPreset,
  { argv: (dataPlane?: DataPlane) => string[]; trait: KindTrait }
> = {
  'director-stats': {
    argv: (dataPlane) => (dataPlane === 'nftables' ? NFT_RULESET : IPVS_STATS),
    trait: KIND_TRAIT.director,
  },
  'ipvs-stats': { argv: () => IPVS_STATS, trait: KIND_TRAIT.director },
  'ospf-neighbors': { argv: () => ['vtysh', '-c', 'show ip ospf neighbor'], trait: KIND_TRAIT.frr },
  'ospf-routes': { argv: () => ['vtysh', '-c', 'show ip route ospf'], trait: KIND_TRAIT.frr },
  'nft-counters': { argv: () => NFT_RULESET, trait: KIND_TRAIT.director },
};

/** The argv a show step runs: its preset's, or the user's command under `sh -c`. */
export function showArgv(step: ShowStep, dataPlane?: DataPlane): string[] {
  if (step.what) return SHOW_PRESETS[step.what].argv(dataPlane);
  return ['sh', '-c', step.cmd ?? ''];
}

export const showStep = defineStepType<
  ShowStep,
  { node: string; cmd?: string; what?: ShowPreset; timeout?: string }
>({
  type: 'show',
  evidenceWhenOthersFail: true,
  parse: (raw, index) => ({
    type: 'show',
    index,
    name: `show ${raw.what ?? clip(oneLine(raw.cmd ?? ''), 60)}`,
    node: raw.node,
    ...(raw.what !== undefined ? { what: raw.what } : { cmd: raw.cmd ?? '' }),
    timeoutMs: parseDuration(raw.timeout ?? DEFAULT_COMMAND_TIMEOUT_MS),
  }),
  check: (step, { at, requireTrait }) => [
    ...(step.what ? requireTrait(SHOW_PRESETS[step.what].trait, `show "${step.what}"`, at('what')) : []),
    ...timeoutIssues(step.timeoutMs, at('timeout')),
  ],
  async run(step, { runtime, node }) {
    const cmd = showArgv(step, node.dataPlane);
    const result = await runtime.exec(node.containerName, cmd, { timeoutMs: step.timeoutMs });
    const evidence = [toEvidence(step.what ?? 'show', cmd, result)];
    const lines = result.stdout.trimEnd() === '' ? 0 : result.stdout.trimEnd().split('\n').length;
    const summary = `${lines} line${lines === 1 ? '' : 's'}`;
    if (result.exitCode !== 0)
      return failedToRun(summary, evidence, `exited ${result.exitCode}: ${outputLine(result)}`);
    return { verdict: 'pass', summary, expectations: [], evidence };
  },
});
