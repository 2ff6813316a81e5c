import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { AuditFinding } from "../domain/control-plane.js";
import { escapeXml } from "../domain/junit.js";
import type { RunResult, ScenarioOutcome } from "./certify.js";
import type { CheckResult } from "./data-checks.js";

const MARKS: Record<CheckResult["verdict"], string> = { passed: "passed", failed: "FAILED", "not-exercised": "–" };

/** The checks (rows) by the scenarios (columns), every cell passed, FAILED or – (not exercised). */
export function formatTable(result: RunResult): string {
  const rows = result.scenarios[0]?.checks.map((check) => check.id) ?? [];
  const header = ["", ...result.scenarios.map((outcome) => outcome.scenario)];
  const lines = rows.map((id) => [
    id,
    ...result.scenarios.map((outcome) => {
      const check = outcome.checks.find((candidate) => candidate.id === id);
      return check === undefined ? "" : MARKS[check.verdict];
    }),
  ]);
  const table = [header, ...lines];
  const widths = header.map((_cell, column) => Math.max(...table.map((line) => (line[column] ?? "").length)));
  const render = (line: string[]): string => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd();
  const failed = result.scenarios.filter((outcome) => !outcome.passed).map((outcome) => outcome.scenario);
  const verdict = failed.length === 0 ? `passed under ${result.scenarios.length} scenario(s)` : `FAILED under ${failed.join(", ")}`;
  return `${table.map(render).join("\n")}\n\n${verdict}\n`;
}

/** The findings of the failed checks, one block each, for the reader of the console. */
export function formatFailures(result: RunResult): string {
  const blocks = result.scenarios.flatMap((outcome) =>
    outcome.checks
      .filter((check) => check.verdict === "failed")
      .map((check) => `${outcome.scenario} / ${check.id}:\n${check.findings.map((finding) => `  - ${finding.message}`).join("\n")}`),
  );
  return blocks.length === 0 ? "" : `${blocks.join("\n")}\n`;
}

const attr = (text: string): string => escapeXml(text, { attribute: true });

function evidence(finding: AuditFinding): string {
  const attempts = finding.attempts.map(
    (attempt) =>
      `    #${attempt.seq} ${attempt.method} ${attempt.path} → ${attempt.status ?? "no response"}` +
      `${attempt.idempotencyKey === null ? " (no Idempotency-Key)" : ` key=${attempt.idempotencyKey}`}` +
      `${attempt.fault === null ? "" : ` fault=${attempt.fault}`}${attempt.replayed ? " replayed" : ""}`,
  );
  return [finding.message, ...attempts].join("\n");
}

function testcase(outcome: ScenarioOutcome, check: CheckResult): string {
  const open = `    <testcase classname="cdp-emulator.${attr(outcome.scenario)}" name="${attr(check.id)}"`;
  const time = check.id === "command" ? ` time="${(outcome.command.durationMs / 1000).toFixed(3)}"` : "";
  if (check.verdict === "passed") return `${open}${time}/>`;
  if (check.verdict === "not-exercised") return `${open}${time}>\n      <skipped message="not exercised"/>\n    </testcase>`;
  const first = check.findings[0]?.message ?? check.title;
  const body = check.findings.map(evidence).join("\n\n");
  return `${open}${time}>\n      <failure message="${attr(first)}" type="${attr(check.id)}">${escapeXml(`${check.title}\n\n${body}`)}</failure>\n    </testcase>`;
}

/** One <testsuite> per scenario, one <testcase> per check, named by its id. */
export function junitXml(result: RunResult): string {
  const suites = result.scenarios.map((outcome) => {
    const failures = outcome.checks.filter((check) => check.verdict === "failed").length;
    const skipped = outcome.checks.filter((check) => check.verdict === "not-exercised").length;
    const attributes =
      `name="${attr(outcome.scenario)}" tests="${outcome.checks.length}" failures="${failures}" errors="0" skipped="${skipped}"` +
      ` time="${(outcome.command.durationMs / 1000).toFixed(3)}"`;
    const properties = `    <properties>\n      <property name="workspace" value="${attr(outcome.workspace)}"/>\n    </properties>`;
    return `  <testsuite ${attributes}>\n${properties}\n${outcome.checks.map((check) => testcase(outcome, check)).join("\n")}\n  </testsuite>`;
  });
  const tests = result.scenarios.reduce((sum, outcome) => sum + outcome.checks.length, 0);
  const failures = result.scenarios.reduce((sum, outcome) => sum + outcome.checks.filter((check) => check.verdict === "failed").length, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="cdp-emulator run" tests="${tests}" failures="${failures}">\n${suites.join("\n")}\n</testsuites>\n`;
}

/** The run as JSON: per scenario the command's end, every verdict and the whole audit report. */
export function jsonReport(result: RunResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export function writeReport(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
