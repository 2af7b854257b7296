/** addresses: add or remove IPv4 addresses on a node's interface (extra client sources, say). */
import { normalizeCidr } from '../../checks/addresses.js';
import type { Evidence } from '../report.js';
import { defineStepType, failedToRun, toEvidence, type VerifyStep } from '../step-type.js';

export interface AddressesStep extends VerifyStep {
  type: 'addresses';
  action: 'add' | 'remove';
  /** IPv4 CIDRs; a bare address is normalised to /32. */
  addresses: string[];
  dev: string;
}

const DEFAULT_DEV = 'lo';

export const addressesStep = defineStepType<
  AddressesStep,
  { node: string; add?: string[]; remove?: string[]; dev?: string }
>({
  type: 'addresses',
  parse(raw, index) {
    const { node, add, remove, dev = DEFAULT_DEV } = raw;
    const action = add ? 'add' : 'remove';
    const addresses = (add ?? remove ?? []).map(normalizeCidr);
    const listed = addresses.length <= 2 ? addresses.join(' ') : `${addresses.length} addresses`;
    return { type: 'addresses', index, name: `${action} ${listed} on ${dev}`, node, action, addresses, dev };
  },
  /** Idempotent: adding an address that is there, or removing one that is not, is not an error. */
  async run(step, { runtime, node }) {
    const verb = step.action === 'add' ? 'add' : 'del';
    // Older kernels say "RTNETLINK answers: File exists" / "Cannot assign requested address", newer
    // ones (extended ack) "Address already assigned" / "Address not found".
    const alreadyDone =
      step.action === 'add'
        ? /File exists|Address already assigned/
        : /Cannot assign requested address|Address not found/;
    const evidence: Evidence[] = [];
    let unchanged = 0;
    // One exec for the whole list (an exec costs ~1 s under the sandbox's UML kernel); each address
    // travels as an argument, and each gets its own result line: `cidr \t exit \t message`.
    const script =
      'verb=$1 dev=$2; shift 2; for cidr in "$@"; do ' +
      'out=$(ip addr "$verb" "$cidr" dev "$dev" 2>&1); printf \'%s\\t%s\\t%s\\n\' "$cidr" "$?" "$out"; done';
    const batch = await runtime.exec(node.containerName, [
      'sh',
      '-c',
      script,
      'sh',
      verb,
      step.dev,
      ...step.addresses,
    ]);
    const results = new Map(
      batch.stdout
        .split('\n')
        .map((line) => line.split('\t'))
        .filter((fields) => fields.length >= 3)
        .map(([cidr = '', exit = '', ...message]) => [
          cidr,
          { exit: Number(exit), message: message.join('\t') },
        ]),
    );
    for (const cidr of step.addresses) {
      const cmd = ['ip', 'addr', verb, cidr, 'dev', step.dev];
      const result = results.get(cidr) ?? { exit: -1, message: batch.stderr || 'no result from the batch' };
      if (result.exit === 0) continue;
      if (alreadyDone.test(result.message)) {
        unchanged += 1;
        continue;
      }
      evidence.push(
        toEvidence(`${verb} ${cidr}`, cmd, { exitCode: result.exit, stdout: '', stderr: result.message }),
      );
    }
    const done = step.addresses.length - unchanged - evidence.length;
    const summary = `${step.action === 'add' ? 'added' : 'removed'} ${done} on ${step.dev}${unchanged > 0 ? `, ${unchanged} unchanged` : ''}`;
    if (evidence.length > 0) {
      return failedToRun(
        summary,
        evidence,
        `ip addr ${verb} failed for ${evidence.length} of ${step.addresses.length}`,
      );
    }
    return { verdict: 'pass', summary, expectations: [], evidence };
  },
});
