/**
 * Drives lblab's progress display with a short `up`, as the command would, for test/e2e/progress.test.ts:
 * `npx vite-node test/support/progress-demo.ts [ok|fail|class|engine]`. No Docker; about 3 seconds.
 * stdout gets one line at the end, as a command's result would be.
 */
import { LabError } from '../../src/core/errors.js';
import { openProgress } from '../../src/cli/progress-display.js';
import { ClassRows, StageRows, UpRows } from '../../src/cli/progress-rows.js';

const scenario = process.argv[2] ?? 'ok';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const display = await openProgress({ title: `lblab ${scenario} demo`, json: false, tickMs: 100 });

async function up(fail: boolean): Promise<void> {
  const rows = new UpRows(display);
  try {
    rows.event({ stage: 'image', message: 'lblab/node:demo is present' });
    await sleep(200);
    rows.event({ stage: 'preflight', message: 'engine kernel has IPVS' });
    rows.event({ stage: 'network', message: 'creating network lblab-demo-lan (10.0.0.0/24)' });
    await sleep(200);
    rows.event({ node: 'client', stage: 'create', message: 'lblab/node:demo eth1=10.0.0.2' });
    rows.event({ node: 'lb1', stage: 'create', message: 'lblab/node:demo eth1=10.0.0.3' });
    await sleep(200);
    rows.event({ node: 'client', stage: 'setup', message: 'ip route add default via 10.0.0.1' });
    rows.event({ node: 'lb1', stage: 'setup', message: 'ipvsadm -A -t 10.0.0.100:80' });
    display.line('warning: a demo warning');
    await sleep(1300);
    rows.event({ node: 'client', stage: 'ready', message: 'ping 10.0.0.3: answered' });
    if (fail) {
      rows.event({ stage: 'teardown', message: 'removing everything lab demo created' });
      await sleep(200);
      throw new LabError('setup', 'ipvsadm: exit 2', { node: 'lb1' });
    }
    rows.event({ node: 'lb1', stage: 'readiness', message: 'keepalived restarted (attempt 1 of 3)' });
    await sleep(1200);
    rows.event({ node: 'lb1', stage: 'ready', message: 'IPVS service 10.0.0.100:80 has 2 real servers' });
    display.close();
  } catch (error) {
    rows.fail(error);
    display.close(error);
    throw error;
  }
}

async function classUp(): Promise<void> {
  const rows = new ClassRows(display, 2);
  rows.progress('class', 'Building lblab/node:demo on the existing lblab/base:demo');
  await sleep(300);
  rows.progress('s01', 'client: create: lblab/node:demo');
  rows.progress('s02', 'client: create: lblab/node:demo');
  await sleep(1200);
  rows.progress('s01', '[1/1] PASS break arp_announce');
  rows.studentDone({ student: 's01', ok: true, ms: 1500 });
  await sleep(1000);
  rows.studentDone({ student: 's02', ok: false, ms: 2500, error: 'lb1: setup: exit 2' });
  display.close();
}

async function engineStart(): Promise<void> {
  const rows = new StageRows(display, 'sandbox');
  rows.line('Building the sandbox guest root (Debian bookworm, ~30 s) in /tmp/root');
  await sleep(200);
  rows.line('  mmdebstrap: I: running apt-get update...');
  await sleep(1100);
  rows.line('Guest root abc ready after 1.3 s');
  rows.line('Booting the sandbox guest (UML 6.1, 198.51.100.2 on lblab-sandbox)');
  await sleep(300);
  rows.line('Loading lblab/node:demo into the sandbox');
  for (let i = 1; i <= 4; i += 1) {
    await sleep(300);
    rows.transfer('lblab/node:demo', i * 7 * 2 ** 20, i * 0.3);
  }
  rows.line('Loaded lblab/node:demo (28 MB in 1.2 s at 23.3 MB/s)');
  rows.finish();
  display.close();
}

try {
  if (scenario === 'class') await classUp();
  else if (scenario === 'engine') await engineStart();
  else await up(scenario === 'fail');
  process.stdout.write(`result: ${scenario}\n`);
} catch (error) {
  process.stderr.write(`Error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
