import { describe, expect, it } from 'vitest';
import { renderHumanReport, renderJunit, xmlAttr, xmlText } from '../../src/verify/render-report.js';
import { summarizeSteps, type StepResult, type VerifyReport } from '../../src/verify/report.js';
import { tallyRecords } from '../../src/verify/tally.js';

const HOSTILE = `a <b> & "c" 'd'\nnext`;

const steps: StepResult[] = [
  {
    index: 0,
    name: 'hash policy 0',
    type: 'sysctl',
    node: 'router',
    verdict: 'pass',
    durationMs: 612,
    summary: 'net.ipv4.fib_multipath_hash_policy=0',
    expectations: [],
    evidence: [],
  },
  {
    index: 1,
    name: `policy 1 splits ${HOSTILE}`,
    type: 'http-tally',
    node: 'router',
    verdict: 'fail',
    durationMs: 1834,
    summary: 'server1 100',
    tally: tallyRecords(
      Array.from({ length: 100 }, () => ({ status: 200, header: 'server1', ms: 4 })),
      'X-Host',
    ),
    expectations: [
      { name: 'max-failures', ok: true, expected: 'at most 0 failed of 100', seen: '0 failed' },
      {
        name: 'distinct',
        ok: false,
        expected: '2 distinct X-Host value(s)',
        seen: `1: server1 100 ${HOSTILE}\u0001`,
        hint: "only 1 nexthop to 172.16.253.100 on router: is each director's (lb1, lb2) OSPF adjacency with router Full?",
      },
    ],
    evidence: [
      {
        label: 'hash policy',
        command: 'cat /proc/sys/net/ipv4/fib_multipath_hash_policy',
        exitCode: 0,
        stdout: '1\n',
        stderr: '',
      },
    ],
  },
  {
    index: 2,
    name: 'show ipvs-stats',
    type: 'show',
    node: 'lb1',
    verdict: 'error',
    durationMs: 80,
    summary: '0 lines',
    expectations: [],
    evidence: [
      {
        label: 'ipvs-stats',
        command: 'ipvsadm -L -n --stats',
        exitCode: 1,
        stdout: '',
        stderr: 'no IPVS <here>\n',
      },
    ],
    error: 'exited 1: no IPVS <here>',
  },
  {
    index: 3,
    name: 'show ospf-routes',
    type: 'show',
    node: 'router',
    verdict: 'pass',
    durationMs: 70,
    summary: '1 line',
    expectations: [],
    evidence: [
      {
        label: 'ospf-routes',
        command: "vtysh -c 'show ip route ospf'",
        exitCode: 0,
        stdout: 'O>* 172.16.253.100/32 [110/20] via 172.16.253.129, eth0\n',
        stderr: '',
      },
    ],
  },
];

const report: VerifyReport = {
  lab: 'ecmp-lvs-dr',
  topologyFile: 'topologies/ecmp-lvs-dr.yml',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 2600,
  ...summarizeSteps(steps),
  steps,
};

describe('VerifyReport', () => {
  it('counts verdicts, and is ok only when every step passed', () => {
    expect(summarizeSteps(steps)).toEqual({
      ok: false,
      counts: { steps: 4, passed: 2, failed: 1, errors: 1 },
    });
    expect(summarizeSteps([steps[0] as StepResult])).toEqual({
      ok: true,
      counts: { steps: 1, passed: 1, failed: 0, errors: 0 },
    });
  });

  it('is plain JSON with the documented keys', () => {
    const json = JSON.parse(JSON.stringify(report)) as VerifyReport;
    expect(json).toEqual(report);
    expect(Object.keys(json).sort()).toEqual([
      'counts',
      'durationMs',
      'lab',
      'ok',
      'startedAt',
      'steps',
      'topologyFile',
    ]);
    expect(Object.keys(json.steps[1] ?? {}).sort()).toEqual([
      'durationMs',
      'evidence',
      'expectations',
      'index',
      'name',
      'node',
      'summary',
      'tally',
      'type',
      'verdict',
    ]);
    expect(json.steps[1]?.tally).toMatchObject({
      requests: 100,
      answered: 100,
      failures: 0,
      values: [{ value: 'server1', count: 100, share: 1 }],
      latencyMs: { p50: 4, p95: 4, max: 4 },
    });
  });
});

describe('renderHumanReport', () => {
  const text = renderHumanReport(report);
  const lines = text.trimEnd().split('\n');

  it('prints a table with one row per step and the summary last', () => {
    expect(lines[0]).toBe('Verifying lab ecmp-lvs-dr (topologies/ecmp-lvs-dr.yml)');
    expect(lines[2]).toMatch(/^# +STEP +NODE +VERDICT +RESULT +TIME$/);
    expect(lines[3]).toMatch(
      /^1 +hash policy 0 +router +PASS +net\.ipv4\.fib_multipath_hash_policy=0 +0\.6s$/,
    );
    expect(lines[4]).toMatch(/^2 +policy 1 splits a <b> & "c" 'd' next +router +FAIL +server1 100 +1\.8s$/);
    expect(lines.at(-1)).toBe('FAIL 4 steps: 2 passed, 1 failed, 1 errors in 2.6s');
  });

  it('explains a failing step: expected, seen, hint and its evidence', () => {
    expect(text).toContain(
      [
        `2. policy 1 splits a <b> & "c" 'd' next on router: FAIL`,
        '   ✗ distinct: expected 2 distinct X-Host value(s)',
        `     seen 1: server1 100 ${HOSTILE}\u0001`,
        "     hint: only 1 nexthop to 172.16.253.100 on router: is each director's (lb1, lb2) OSPF adjacency with router Full?",
        '   ── hash policy: cat /proc/sys/net/ipv4/fib_multipath_hash_policy',
        '      1',
      ].join('\n'),
    );
    expect(text).not.toContain('✗ max-failures');
    expect(text).toContain('3. show ipvs-stats on lb1: ERROR\n   error: exited 1: no IPVS <here>');
  });

  it('prints what the show steps captured when anything failed, and not otherwise', () => {
    expect(text).toContain(
      [
        'Evidence from show steps:',
        '3. show ipvs-stats on lb1',
        '   ── ipvs-stats: ipvsadm -L -n --stats (exit 1)',
        '      no IPVS <here>',
        '4. show ospf-routes on router',
        "   ── ospf-routes: vtysh -c 'show ip route ospf'",
        '      O>* 172.16.253.100/32 [110/20] via 172.16.253.129, eth0',
      ].join('\n'),
    );
    const passing = [steps[0] as StepResult, steps[3] as StepResult];
    const clean = renderHumanReport({ ...report, ...summarizeSteps(passing), steps: passing });
    expect(clean).not.toContain('Evidence from show steps');
    expect(clean.trimEnd().split('\n').at(-1)).toBe('PASS 2 steps: 2 passed, 0 failed, 0 errors in 2.6s');
  });
});

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Just enough XML to check well-formedness of what renderJunit emits: elements, attributes, text, entities. */
function parseXml(xml: string): XmlElement {
  const decode = (value: string) =>
    value.replace(/&(amp|lt|gt|quot|apos|#\d+);/g, (_m, entity: string) =>
      entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : (({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[entity] ?? ''),
    );
  const entityOrChar = `(?:[^"<&]|&(?:amp|lt|gt|quot|apos|#\\d+);)`;
  const token = new RegExp(
    `<\\?xml[^?]*\\?>|<(/?)([A-Za-z][\\w-]*)((?:\\s+[\\w-]+="${entityOrChar}*")*)\\s*(/?)>|((?:[^<&]|&(?:amp|lt|gt|quot|apos|#\\d+);)+)`,
    'y',
  );
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  while (token.lastIndex < xml.length) {
    const at = token.lastIndex;
    const match = token.exec(xml);
    if (!match) throw new Error(`not well-formed at ${at}: ${xml.slice(at, at + 40)}`);
    const [, closing, name, attributeText, selfClosing, text] = match;
    const top = stack.at(-1) as XmlElement;
    if (text !== undefined) {
      top.text += decode(text);
    } else if (closing) {
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      stack.pop();
    } else if (name) {
      const attributes: Record<string, string> = {};
      for (const [, key = '', value = ''] of (attributeText ?? '').matchAll(/([\w-]+)="([^"]*)"/g)) {
        if (key in attributes) throw new Error(`duplicate attribute ${key}`);
        attributes[key] = decode(value);
      }
      const element: XmlElement = { name, attributes, children: [], text: '' };
      top.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)?.name}>`);
  return root;
}

describe('renderJunit', () => {
  const xml = renderJunit(report);
  const document = parseXml(xml);
  const suites = document.children[0] as XmlElement;
  const suite = suites.children[0] as XmlElement;
  const cases = suite.children;

  it('is well-formed, with totals on the suites and the lab as suite and class name', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(document.children.map((c) => c.name)).toEqual(['testsuites']);
    expect(suites.attributes).toEqual({
      name: 'lblab verify',
      tests: '4',
      failures: '1',
      errors: '1',
      time: '2.600',
    });
    expect(suite.name).toBe('testsuite');
    expect(suite.attributes).toMatchObject({
      name: 'ecmp-lvs-dr',
      tests: '4',
      failures: '1',
      errors: '1',
      time: '2.600',
    });
    expect(cases.map((c) => [c.name, c.attributes.classname, c.attributes.time])).toEqual([
      ['testcase', 'ecmp-lvs-dr', '0.612'],
      ['testcase', 'ecmp-lvs-dr', '1.834'],
      ['testcase', 'ecmp-lvs-dr', '0.080'],
      ['testcase', 'ecmp-lvs-dr', '0.070'],
    ]);
  });

  it('escapes <&"\' and line breaks so the parsed values equal the originals', () => {
    expect(cases[1]?.attributes.name).toBe(`2. policy 1 splits ${HOSTILE}`);
    const failure = cases[1]?.children.find((c) => c.name === 'failure');
    expect(failure?.attributes).toEqual({
      message: `distinct: expected 2 distinct X-Host value(s), seen 1: server1 100 ${HOSTILE}\uFFFD`,
      type: 'distinct',
    });
    expect(failure?.text).toBe(
      `distinct: expected 2 distinct X-Host value(s)\nseen 1: server1 100 ${HOSTILE}\uFFFD\nhint: only 1 nexthop to 172.16.253.100 on router: is each director's (lb1, lb2) OSPF adjacency with router Full?`,
    );
  });

  it('marks steps that could not run as errors and carries evidence in system-out', () => {
    expect(xml).toContain('<testcase classname="ecmp-lvs-dr" name="1. hash policy 0" time="0.612"/>');
    expect(cases[0]?.children).toEqual([]);
    const error = cases[2]?.children.find((c) => c.name === 'error');
    expect(error?.attributes).toEqual({ message: 'exited 1: no IPVS <here>', type: 'error' });
    expect(cases[2]?.children.find((c) => c.name === 'system-out')?.text).toBe(
      '$ ipvsadm -L -n --stats\nno IPVS <here>',
    );
    expect(cases[3]?.children.map((c) => c.name)).toEqual(['system-out']);
  });
});

describe('xml escaping', () => {
  it('escapes text and attributes and drops characters XML cannot carry', () => {
    expect(xmlText('a<b>&c "d"')).toBe('a&lt;b&gt;&amp;c "d"');
    expect(xmlAttr(`a<b>&c "d" 'e'\n\t`)).toBe('a&lt;b&gt;&amp;c &quot;d&quot; &apos;e&apos;&#10;&#9;');
    expect(xmlText('bell\u0007 nul\u0000 ok\u00e9 \u{1F600}')).toBe(
      'bell\uFFFD nul\uFFFD ok\u00e9 \u{1F600}',
    );
  });
});
