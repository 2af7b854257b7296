/** The verification report for people (a table, then what failed and why) and for CI (JUnit XML). */
import { clip, formatTable, oneLine } from '../util/text.js';
import type { Evidence, LoadTimeline, VerifyReport } from './report.js';
import { renderTimeline } from './timeline.js';
import { findStepType } from './steps.js';

const MAX_NAME = 48;
const MAX_SUMMARY = 60;

/**
 * A table (step, node, verdict, result, time), then for each failing step its failed expectations
 * (expected, seen, hint) and evidence, the output of every `show` step when anything failed, and a
 * one-line summary last.
 */
export function renderHumanReport(report: VerifyReport): string {
  const rows = report.steps.map((step) => [
    String(step.index + 1),
    clip(`${step.parent !== undefined ? '↳ ' : ''}${oneLine(step.name)}`, MAX_NAME),
    step.node,
    step.verdict.toUpperCase(),
    clip(oneLine(step.summary), MAX_SUMMARY),
    formatSeconds(step.durationMs),
  ]);
  const lines = [`Verifying lab ${report.lab} (${report.topologyFile})`, ''];
  for (const warning of report.warnings ?? []) lines.push(`warning: ${warning}`, '');
  lines.push(...formatTable([['#', 'STEP', 'NODE', 'VERDICT', 'RESULT', 'TIME'], ...rows]), '');
  for (const step of report.steps) {
    if (step.timeline)
      lines.push(`${step.index + 1}. ${oneLine(step.name)}`, ...renderLoadTimeline(step.timeline), '');
  }

  const bad = report.steps.filter((step) => step.verdict !== 'pass');
  for (const step of bad) {
    lines.push(`${step.index + 1}. ${oneLine(step.name)} on ${step.node}: ${step.verdict.toUpperCase()}`);
    if (step.error !== undefined) lines.push(`   error: ${step.error}`);
    for (const result of step.expectations.filter((e) => !e.ok)) {
      lines.push(`   ✗ ${result.name}: expected ${result.expected}`, `     seen ${result.seen}`);
      if (result.hint !== undefined) lines.push(`     hint: ${result.hint}`);
    }
    for (const evidence of step.evidence) lines.push(...renderEvidence(evidence, '   '));
    lines.push('');
  }
  const shows = report.steps.filter((step) => findStepType(step.type)?.evidenceWhenOthersFail);
  if (bad.length > 0 && shows.length > 0) {
    lines.push('Evidence from show steps:');
    for (const step of shows) {
      lines.push(`${step.index + 1}. ${oneLine(step.name)} on ${step.node}`);
      for (const evidence of step.evidence) lines.push(...renderEvidence(evidence, '   '));
    }
    lines.push('');
  }
  const { counts } = report;
  lines.push(
    `${report.ok ? 'PASS' : 'FAIL'} ${counts.steps} steps: ${counts.passed} passed, ${counts.failed} failed, ${counts.errors} errors in ${formatSeconds(report.durationMs)}`,
  );
  return lines.join('\n') + '\n';
}

/** A load's figures in words: sent, failed, and when anything failed the longest outage and the recovery. */
export function timelineFigures(timeline: LoadTimeline): string[] {
  const figures = [`${timeline.sent} sent at ${timeline.ratePerSecond}/s`, `${timeline.failed} failed`];
  if (timeline.failed > 0) figures.push(`longest outage ${formatSeconds(timeline.maxOutageMs)}`);
  if (timeline.recoveryMs !== undefined && timeline.failed > 0) {
    figures.push(
      timeline.recoveryMs === null
        ? 'never recovered'
        : `recovered ${formatSeconds(timeline.recoveryMs)} after the fault`,
    );
  }
  if (timeline.laterFailures) figures.push(`${timeline.laterFailures} stray failed after a quiet second`);
  return figures;
}

/** The traffic second by second, then its outages, recovery and latency per path. */
export function renderLoadTimeline(timeline: LoadTimeline): string[] {
  const marks = timeline.marks.map((m) => ({
    name: m.name,
    startedAt: m.atS * 1000,
    endedAt: m.endS * 1000,
    fault: m.fault,
  }));
  const lines = renderTimeline(timeline.buckets, marks, 0).map((line) => `   ${line}`);
  lines.push(`   ${timelineFigures(timeline).join(', ')}`);
  const latency = Object.entries(timeline.latencyByValue)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([value, l]) => `${value} p50 ${l.p50.toFixed(1)} ms, p95 ${l.p95.toFixed(1)} ms`);
  if (latency.length > 0) lines.push(`   latency: ${latency.join('; ')}`);
  return lines;
}

/** stdout, then stderr, without trailing blank lines. */
function evidenceOutput(evidence: Evidence): string {
  return [evidence.stdout.trimEnd(), evidence.stderr.trimEnd()].filter((text) => text !== '').join('\n');
}

function renderEvidence(evidence: Evidence, indent: string): string[] {
  const output = evidenceOutput(evidence);
  const exit = evidence.exitCode === 0 ? '' : ` (exit ${evidence.exitCode})`;
  return [
    `${indent}── ${evidence.label}: ${evidence.command}${exit}`,
    ...(output === '' ? ['(no output)'] : output.split('\n')).map((line) => `${indent}   ${line}`),
  ];
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * JUnit XML: one `<testsuite>` named after the lab, one `<testcase>` per step (`<failure>` for a
 * failed expectation, `<error>` for a step that could not run), captured evidence in `<system-out>`.
 */
export function renderJunit(report: VerifyReport): string {
  const { counts } = report;
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const totals = `tests="${counts.steps}" failures="${counts.failed}" errors="${counts.errors}" time="${time(report.durationMs)}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="lblab verify" ${totals}>`,
    `  <testsuite name="${xmlAttr(report.lab)}" ${totals} skipped="0" timestamp="${xmlAttr(report.startedAt)}">`,
  ];
  for (const step of report.steps) {
    const open = `    <testcase classname="${xmlAttr(report.lab)}" name="${xmlAttr(`${step.index + 1}. ${step.name}`)}" time="${time(step.durationMs)}"`;
    const inner: string[] = [];
    if (step.timeline) inner.push(...timelineProperties(step.timeline));
    if (step.verdict === 'error') {
      const message = step.error ?? 'step could not run';
      inner.push(`      <error message="${xmlAttr(message)}" type="error">${xmlText(message)}</error>`);
    } else if (step.verdict === 'fail') {
      const failed = step.expectations.filter((e) => !e.ok);
      const first = failed[0];
      const message = first ? `${first.name}: expected ${first.expected}, seen ${first.seen}` : 'failed';
      const body = failed
        .map((e) => `${e.name}: expected ${e.expected}\nseen ${e.seen}${e.hint ? `\nhint: ${e.hint}` : ''}`)
        .join('\n\n');
      inner.push(
        `      <failure message="${xmlAttr(message)}" type="${xmlAttr(first?.name ?? 'fail')}">${xmlText(body)}</failure>`,
      );
    }
    if (step.evidence.length > 0) {
      const out = step.evidence.map((e) => `$ ${e.command}\n${evidenceOutput(e)}`.trimEnd()).join('\n\n');
      inner.push(`      <system-out>${xmlText(out)}</system-out>`);
    }
    lines.push(...(inner.length === 0 ? [`${open}/>`] : [`${open}>`, ...inner, '    </testcase>']));
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** A load step's figures as JUnit properties, for CI dashboards that plot them. */
function timelineProperties(timeline: LoadTimeline): string[] {
  const figures: [string, string | number][] = [
    ['sent', timeline.sent],
    ['failed', timeline.failed],
    ['max-outage-ms', timeline.maxOutageMs],
  ];
  if (timeline.recoveryMs !== undefined) figures.push(['recovery-ms', timeline.recoveryMs ?? 'never']);
  if (timeline.laterFailures) figures.push(['later-failures', timeline.laterFailures]);
  for (const [value, latency] of Object.entries(timeline.latencyByValue).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    figures.push([`latency-p50-ms ${value}`, latency.p50], [`answered ${value}`, latency.count]);
  }
  return [
    '      <properties>',
    ...figures.map(
      ([name, value]) => `        <property name="${xmlAttr(name)}" value="${xmlAttr(String(value))}"/>`,
    ),
    '      </properties>',
  ];
}

/** Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlText(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values: also quotes, and line breaks as character references so parsers keep them. */
export function xmlAttr(text: string): string {
  return xmlText(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}
