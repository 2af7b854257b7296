import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import type { Clock } from '../../src/util/clock.js';

/** An engine's answers as Docker gives them, for one network and the containers that exist. */
function engine(options: { endpoints: Record<string, string>; existing: string[] }) {
  const endpoints = new Map(Object.entries(options.endpoints));
  const disconnects: unknown[] = [];
  let removed = false;
  const apiError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
  const network = {
    id: 'net-id',
    async remove() {
      if (removed) throw apiError(404, 'network not found');
      if (endpoints.size > 0) {
        throw apiError(
          403,
          '(HTTP code 403) unexpected - error while removing network: network lab-lan id net-id has active endpoints',
        );
      }
      removed = true;
    },
    async inspect() {
      return {
        Name: 'lab-lan',
        Containers: Object.fromEntries([...endpoints].map(([key, name]) => [key, { Name: name }])),
      };
    },
    async disconnect(body: { Container: string; Force?: boolean }) {
      disconnects.push(body);
      for (const [key, name] of endpoints) if (name === body.Container && body.Force) endpoints.delete(key);
    },
  };
  const docker = {
    getNetwork: () => network,
    getContainer: (id: string) => ({
      async inspect() {
        if (!options.existing.includes(id)) throw apiError(404, `no such container ${id}`);
        return { Id: id };
      },
    }),
  } as unknown as Docker;
  return { docker, disconnects, isRemoved: () => removed };
}

function fakeClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

describe('removing a lab network', () => {
  it('force-disconnects an endpoint the engine kept for a removed container, by its name, then removes the network', async () => {
    const fake = engine({ endpoints: { 'ep-4f1c': 'lblab-dr-arp-s03-web1' }, existing: [] });
    const runtime = new DockerRuntime(fake.docker, 'test', { clock: fakeClock() });
    await runtime.removeNetwork('lab-lan');
    expect(fake.disconnects).toEqual([{ Container: 'lblab-dr-arp-s03-web1', Force: true }]);
    expect(fake.isRemoved()).toBe(true);
  });

  it('never disconnects a container that still exists, and says whose it is and how to free the network', async () => {
    const fake = engine({ endpoints: { c0ffee: 'someone-elses' }, existing: ['c0ffee'] });
    const clock = fakeClock();
    const runtime = new DockerRuntime(fake.docker, 'test', { clock });
    // By id, as down removes it: the message names the network.
    await expect(runtime.removeNetwork('net-id')).rejects.toThrow(
      /lab-lan is still used by someone-elses, not a container of the lab: disconnect it \(docker network disconnect lab-lan someone-elses\)/,
    );
    expect(fake.disconnects).toEqual([]);
    expect(fake.isRemoved()).toBe(false);
    // At once: waiting does not make a live container let go.
    expect(clock.now()).toBe(0);
  });

  it('drops only the stale endpoints when a live foreign container shares the network', async () => {
    const fake = engine({
      endpoints: { 'ep-1': 'lblab-lab-a', c0ffee: 'someone-elses' },
      existing: ['c0ffee'],
    });
    const runtime = new DockerRuntime(fake.docker, 'test', { clock: fakeClock() });
    await expect(runtime.removeNetwork('lab-lan')).rejects.toThrow(/still used by someone-elses/);
    expect(fake.disconnects).toEqual([{ Container: 'lblab-lab-a', Force: true }]);
  });

  it('a network that is already gone is fine', async () => {
    const fake = engine({ endpoints: {}, existing: [] });
    const runtime = new DockerRuntime(fake.docker, 'test', { clock: fakeClock() });
    await runtime.removeNetwork('lab-lan');
    await runtime.removeNetwork('lab-lan');
    expect(fake.isRemoved()).toBe(true);
  });
});
