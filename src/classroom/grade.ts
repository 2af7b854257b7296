/**
 * Grades from check runs (pure): a student's score with a line per check and the hint of each that
 * failed, and a class's grades as a table, CSV and JUnit (one test suite per student).
 */
import { escapeAttr, escapeHtml, htmlPage } from '../pictures/html.js';
import { formatTable, oneLine } from '../util/text.js';
import type { VerifyReport } from '../verify/report.js';
import { xmlAttr, xmlText } from '../verify/render-report.js';
import type { VerifyStep } from '../verify/step-type.js';

export interface CheckGrade {
  name: string;
  points: number;
  earned: number;
  verdict: 'pass' | 'fail' | 'error';
  /** What was seen, one line. */
  summary: string;
  /** Shown when the check did not pass. */
  hint?: string;
  durationMs: number;
}

export interface Grade {
  exercise: string;
  /** Absent when the lab is the exercise's own (no --student). */
  student?: string;
  lab: string;
  /** With a pool of engines: the one the lab is on. */
  engine?: string;
  score: number;
  max: number;
  /** Full marks: `exercise check` exits 0 only then. */
  passed: boolean;
  checks: CheckGrade[];
  /** Why nothing could be checked (the lab is not up): every check scores 0. */
  error?: string;
  startedAt: string;
  durationMs: number;
}

/** A check scores its points only when every expectation of it held; its during: steps are part of it. */
export function gradeOf(
  identity: { exercise: string; student?: string; lab: string },
  checks: VerifyStep[],
  report: VerifyReport,
): Grade {
  const graded = checks
    .filter((check) => check.parent === undefined)
    .map((check): CheckGrade => {
      const result = report.steps.find((step) => step.index === check.index);
      const nested = report.steps.filter((step) => step.parent === check.index);
      const verdict =
        !result || result.verdict === 'error' || nested.some((step) => step.verdict === 'error')
          ? 'error'
          : result.verdict === 'pass' && nested.every((step) => step.verdict === 'pass')
            ? 'pass'
            : 'fail';
      const points = check.points ?? 0;
      return {
        name: check.name,
        points,
        earned: verdict === 'pass' ? points : 0,
        verdict,
        summary: oneLine(result?.error ?? failedExpectation(result) ?? result?.summary ?? 'not run'),
        ...(verdict !== 'pass' && check.hint !== undefined && { hint: check.hint }),
        durationMs: result?.durationMs ?? 0,
      };
    });
  return summarize(identity, graded, report.startedAt, report.durationMs);
}

/** A lab that could not be checked at all scores nothing, each check with its hint. */
export function ungraded(
  identity: { exercise: string; student?: string; lab: string },
  checks: VerifyStep[],
  error: string,
): Grade {
  const graded = checks
    .filter((check) => check.parent === undefined)
    .map((check): CheckGrade => ({
      name: check.name,
      points: check.points ?? 0,
      earned: 0,
      verdict: 'error',
      summary: 'not checked',
      ...(check.hint !== undefined && { hint: check.hint }),
      durationMs: 0,
    }));
  return { ...summarize(identity, graded, new Date().toISOString(), 0), error };
}

function summarize(
  identity: { exercise: string; student?: string; lab: string },
  checks: CheckGrade[],
  startedAt: string,
  durationMs: number,
): Grade {
  const score = checks.reduce((sum, check) => sum + check.earned, 0);
  const max = checks.reduce((sum, check) => sum + check.points, 0);
  return { ...identity, score, max, passed: score === max, checks, startedAt, durationMs };
}

function failedExpectation(result: VerifyReport['steps'][number] | undefined): string | undefined {
  const failed = result?.expectations.find((e) => !e.ok);
  return failed ? `${failed.name}: expected ${failed.expected}, seen ${failed.seen}` : undefined;
}

/** What `exercise check` prints: the score, a line per check, the hint under each that failed. */
export function renderGrade(grade: Grade): string {
  const who = grade.student ? ` (student ${grade.student})` : '';
  const lines = [`${grade.exercise}${who}: ${grade.score}/${grade.max} points`];
  if (grade.error) lines.push(`  cannot check: ${grade.error}`);
  for (const check of grade.checks) {
    const mark = check.verdict === 'pass' ? 'PASS' : check.verdict === 'fail' ? 'FAIL' : 'ERROR';
    lines.push(`  ${mark.padEnd(5)} ${`${check.earned}/${check.points}`.padStart(5)}  ${check.name}`);
    if (check.verdict !== 'pass' && !grade.error) lines.push(`               seen: ${check.summary}`);
    if (check.hint) lines.push(`               hint: ${check.hint}`);
  }
  lines.push(
    grade.passed
      ? 'Full marks: the lab works as the exercise asks.'
      : 'Not yet: fix the lab and run the check again.',
  );
  return lines.join('\n');
}

/** The class on screen: a row per student, a column per check (its points earned), the total. */
export function renderClassTable(grades: Grade[]): string {
  const checks = grades[0]?.checks ?? [];
  // A class spread over a pool: which engine each lab is on, so a teacher sees an engine's trouble.
  const pooled = grades.some((grade) => grade.engine !== undefined);
  const header = [
    'student',
    ...(pooled ? ['engine'] : []),
    ...checks.map((_, i) => `c${i + 1}`),
    'score',
    'note',
  ];
  const rows = grades.map((grade) => [
    grade.student ?? grade.lab,
    ...(pooled ? [grade.engine ?? ''] : []),
    ...grade.checks.map((check) => (check.verdict === 'pass' ? String(check.earned) : '-')),
    `${grade.score}/${grade.max}`,
    grade.error ? oneLine(grade.error) : grade.passed ? 'full marks' : '',
  ]);
  const legend = checks.map((check, i) => `  c${i + 1} (${check.points} pt): ${check.name}`);
  return [...formatTable([header, ...rows]), '', ...legend].join('\n');
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per student: score, max, then each check's points earned, then the error if any. */
export function classCsv(grades: Grade[]): string {
  const checks = grades[0]?.checks ?? [];
  const header = ['student', 'lab', 'score', 'max', ...checks.map((c) => c.name), 'error'];
  const rows = grades.map((grade) => [
    grade.student ?? '',
    grade.lab,
    grade.score,
    grade.max,
    ...grade.checks.map((check) => check.earned),
    grade.error ?? '',
  ]);
  return `${[header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/** JUnit: one test suite per student (per lab), a test case per check, its hint in the failure. */
export function gradesJunit(name: string, grades: Grade[]): string {
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const count = (g: Grade, verdict: CheckGrade['verdict']) =>
    g.checks.filter((c) => c.verdict === verdict).length;
  const sum = (f: (g: Grade) => number) => grades.reduce((total, g) => total + f(g), 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlAttr(name)}" tests="${sum((g) => g.checks.length)}" failures="${sum((g) => count(g, 'fail'))}" errors="${sum((g) => count(g, 'error'))}">`,
  ];
  for (const grade of grades) {
    lines.push(
      `  <testsuite name="${xmlAttr(grade.student ?? grade.lab)}" tests="${grade.checks.length}" failures="${count(grade, 'fail')}" errors="${count(grade, 'error')}" skipped="0" time="${time(grade.durationMs)}" timestamp="${xmlAttr(grade.startedAt)}">`,
      '    <properties>',
      `      <property name="score" value="${grade.score}"/>`,
      `      <property name="max" value="${grade.max}"/>`,
      '    </properties>',
    );
    for (const check of grade.checks) {
      const open = `    <testcase classname="${xmlAttr(`${grade.exercise}.${grade.student ?? grade.lab}`)}" name="${xmlAttr(check.name)}" time="${time(check.durationMs)}"`;
      if (check.verdict === 'pass') {
        lines.push(`${open}/>`);
        continue;
      }
      const tag = check.verdict === 'fail' ? 'failure' : 'error';
      const message = grade.error ?? check.summary;
      const body = [`seen: ${check.summary}`, ...(check.hint ? [`hint: ${check.hint}`] : [])].join('\n');
      lines.push(
        `${open}>`,
        `      <${tag} message="${xmlAttr(message)}" type="${tag}">${xmlText(body)}</${tag}>`,
        '    </testcase>',
      );
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/**
 * The class as one HTML page: a row per student, a column per check (points earned, the cell's
 * colour its verdict, the hint on hover), the score; every check's name and points above.
 */
export function renderClassHtml(exercise: string, grades: Grade[]): string {
  const checks = grades[0]?.checks ?? [];
  const head = checks
    .map(
      (check, i) =>
        `<th class="num check" data-check="${i + 1}" title="${escapeAttr(check.name)}">c${i + 1}<br><small>${check.points} pt</small></th>`,
    )
    .join('');
  const rows = grades.map((grade) => {
    const cells = grade.checks
      .map(
        (check, i) =>
          `<td class="num cell-${check.verdict}" data-check="${i + 1}" data-verdict="${check.verdict}" title="${escapeAttr(
            check.verdict === 'pass'
              ? check.summary
              : `${check.summary}${check.hint ? ` (hint: ${check.hint})` : ''}`,
          )}">${check.earned}</td>`,
      )
      .join('');
    const note = grade.error ? oneLine(grade.error) : grade.passed ? 'full marks' : '';
    return (
      `<tr class="student" data-student="${escapeAttr(grade.student ?? grade.lab)}" data-score="${grade.score}">` +
      `<td>${escapeHtml(grade.student ?? grade.lab)}</td>${cells}` +
      `<td class="num"><b>${grade.score}</b>/${grade.max}</td><td>${escapeHtml(note)}</td></tr>`
    );
  });
  const full = grades.filter((g) => g.passed).length;
  const legend = checks
    .map((check, i) => `<li>c${i + 1} (${check.points} pt): ${escapeHtml(check.name)}</li>`)
    .join('');
  const body = [
    `<h1>Class grades: ${escapeHtml(exercise)}</h1>`,
    `<div class="meta">${grades.length} students, ${full} at full marks</div>`,
    `<table id="grades"><thead><tr><th>student</th>${head}<th class="num">score</th><th>note</th></tr></thead>`,
    `<tbody>${rows.join('')}</tbody></table>`,
    `<h2>Checks</h2><ol class="checks" style="list-style:none;padding:0">${legend}</ol>`,
  ];
  return htmlPage(`lblab class grade: ${exercise}`, body.join('\n'));
}
