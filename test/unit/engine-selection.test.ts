import { describe, expect, it } from 'vitest';
import { chooseAutoEngine } from '../../src/lab/select-engine.js';

const noIpvs = { ipvs: false, ipvsReason: 'ipvsadm: Protocol not available' };

describe('chooseAutoEngine', () => {
  it('uses the host engine when its kernel has IPVS', () => {
    const choice = chooseAutoEngine({ hostEngine: true, hostIpvs: { ipvs: true }, sandbox: { ok: true } });
    expect(choice).toEqual({ engine: 'docker', reason: "the host engine's kernel has IPVS" });
  });

  it('prefers the sandbox over the nftables stand-in when the host kernel lacks IPVS', () => {
    const choice = chooseAutoEngine({ hostEngine: true, hostIpvs: noIpvs, sandbox: { ok: true } });
    expect(choice.engine).toBe('sandbox');
    expect(choice.reason).toContain('Protocol not available');
    expect(choice.reason).toContain("the sandbox's UML kernel has IPVS");
  });

  it('falls back to the host engine with nftables, saying why, when the sandbox cannot run', () => {
    const choice = chooseAutoEngine({
      hostEngine: true,
      hostIpvs: noIpvs,
      sandbox: { ok: false, reason: 'the sandbox needs root' },
    });
    expect(choice.engine).toBe('docker');
    expect(choice.reason).toMatch(/no IPVS .*sandbox cannot run here \(the sandbox needs root\).*nftables/);
  });

  it('uses the sandbox when no host engine answers', () => {
    expect(chooseAutoEngine({ hostEngine: false, sandbox: { ok: true } })).toEqual({
      engine: 'sandbox',
      reason: "no host Docker engine answers; the sandbox's UML kernel has IPVS",
    });
  });

  it('gives up with both reasons when nothing can run a lab', () => {
    const choice = chooseAutoEngine({ hostEngine: false, sandbox: { ok: false, reason: 'no /dev/net/tun' } });
    expect(choice.engine).toBe('none');
    expect(choice.reason).toBe(
      'no host Docker engine answers and the sandbox cannot run here (no /dev/net/tun)',
    );
  });
});
