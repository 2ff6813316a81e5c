import { parseRunOptions, type RunFlags } from "./args.js";
import { certify } from "./certify.js";
import { formatFailures, formatTable, jsonReport, junitXml, writeReport } from "./report.js";

/**
 * `cdp-emulator run` from its flags to its exit code: 0 when the command exited 0 and no check
 * failed under every scenario, 1 otherwise. A usage mistake throws a StartupError (exit 2), and
 * so does a scenario or --url that is not there, before the command runs even once.
 */
export async function certifyCommandLine(flags: RunFlags, command: readonly string[]): Promise<number> {
  const options = parseRunOptions(flags, command, process.env);
  const result = await certify(options, (line) => process.stderr.write(`cdp-emulator run: ${line}\n`));
  if (options.junitFile !== null) writeReport(options.junitFile, junitXml(result));
  if (options.jsonFile !== null) writeReport(options.jsonFile, jsonReport(result));
  process.stdout.write(`\n${formatTable(result)}`);
  const failures = formatFailures(result);
  if (failures !== "") process.stdout.write(`\n${failures}`);
  return result.passed ? 0 : 1;
}
