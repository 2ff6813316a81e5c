import type { AuditAttempt, AuditReport, AuditRuleResult } from "./control-plane.js";

/**
 * The retry audit as JUnit XML, the report format every CI system draws: one <testsuite> per
 * workspace, one <testcase> per rule (its id as the name, so a CI history follows a rule across
 * runs), a <failure> with the evidence for a failed rule and <skipped/> for one not exercised.
 */

/**
 * Text or (with `attribute`) an attribute value, safe in XML 1.0: markup escaped, and characters
 * XML cannot hold at all (control characters but tab, LF and CR; lone surrogates; U+FFFE, U+FFFF)
 * dropped, since no escape can carry them.
 */
export function escapeXml(text: string, options: { attribute?: boolean } = {}): string {
  const escaped = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
  // In an attribute a raw newline or tab is read back as a space: kept as character references.
  return options.attribute === true ? escaped.replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;") : escaped.replace(/\r/g, "&#13;");
}

const attr = (text: string): string => escapeXml(text, { attribute: true });

function evidenceLine(attempt: AuditAttempt): string {
  const key = attempt.idempotencyKey === null ? "no key" : `key ${attempt.idempotencyKey}`;
  const status = attempt.status === null ? "no response" : String(attempt.status);
  return `  seq ${attempt.seq}: ${attempt.method} ${attempt.path} → ${status}, ${key}, at ${attempt.at}${attempt.fault === null ? "" : `, fault ${attempt.fault}`}`;
}

function failureText(result: AuditRuleResult): string {
  return result.findings.map((finding) => [finding.message, ...finding.attempts.map(evidenceLine)].join("\n")).join("\n\n");
}

function testcase(result: AuditRuleResult): string {
  const open = `  <testcase classname="cdp-emulator.audit" name="${attr(result.id)}">`;
  const properties = `    <system-out>${escapeXml(`${result.title} (${result.source}); exercised ${result.exercised}`)}</system-out>`;
  if (result.verdict === "passed") return [open, properties, "  </testcase>"].join("\n");
  if (result.verdict === "not-exercised") {
    return [open, `    <skipped message="${attr(`not exercised: nothing in the journal put ${result.id} to the test`)}"/>`, properties, "  </testcase>"].join("\n");
  }
  const message = result.findings.map((finding) => finding.message).join("; ");
  return [
    open,
    `    <failure message="${attr(message)}" type="${attr(result.id)}">${escapeXml(failureText(result))}</failure>`,
    properties,
    "  </testcase>",
  ].join("\n");
}

/** The report as a JUnit XML document: one <testsuite> as its root. */
export function auditToJunit(report: AuditReport): string {
  const { failed, notExercised } = report.summary;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${attr(`cdp-emulator audit: ${report.workspace}`)}" tests="${report.rules.length}" failures="${failed}" errors="0" skipped="${notExercised}">`,
    ...report.rules.map(testcase),
    "</testsuite>",
    "",
  ].join("\n");
}
