import type { BatchOperation } from "../store/jobs-store.js";
import type { Operation, OperationContext, OperationResult } from "../http/operation.js";
import { createJobsService, type JobRef, type JobsServiceDeps } from "../services/jobs.js";

export type JobsDeps = JobsServiceDeps;

export const MAX_PREFER_WAIT_SECONDS = 30;

/** `Prefer: wait=N` (RFC 7240), capped at 30 seconds; undefined when absent or malformed. */
export function preferredWaitSeconds(prefer: string | undefined): number | undefined {
  const match = prefer ? /(?:^|[,;\s])wait\s*=\s*"?(\d+)"?/i.exec(prefer) : null;
  if (!match?.[1]) return undefined;
  return Math.min(Number(match[1]), MAX_PREFER_WAIT_SECONDS);
}

const jobRef = (context: OperationContext): JobRef => ({
  workspace: context.workspace,
  objectName: context.params["object"],
  jobId: context.params["jobId"],
});

/** Batch writes and their jobs: the request in, one service call, the vendor's answer out. */
export function createJobOperations(deps: JobsDeps): Operation[] {
  const jobs = createJobsService(deps);

  const batch = (operation: BatchOperation): Operation => ({
    name: operation,
    method: "post",
    path: `/records/:object/${operation}`,
    scope: "records:write",
    write: true,
    rateLimit: "batch",
    handle(context): OperationResult {
      const accepted = jobs.submit({
        workspace: context.workspace,
        objectName: context.params["object"],
        operation,
        body: context.body,
        rawBody: context.rawBody,
        now: context.now,
      });
      const waitSeconds = preferredWaitSeconds(context.prefer);
      return {
        status: 202,
        body: {
          success: true,
          data: {
            operation,
            objectName: accepted.job.object,
            jobId: accepted.job.id,
            state: "queued",
            acceptedRecords: accepted.acceptedRecords,
            statusPath: accepted.statusPath,
            ...(accepted.matchKey === null ? {} : { matchKey: accepted.matchKey }),
          },
        },
        after: async () => {
          const finished = await accepted.handOff(waitSeconds);
          if (!finished || waitSeconds === undefined) return undefined;
          return {
            status: 200,
            body: { success: true, data: finished },
            headers: { "Preference-Applied": `wait=${waitSeconds}` },
          };
        },
      };
    },
  });

  const status: Operation = {
    name: "job-status",
    method: "get",
    path: "/records/:object/jobs/:jobId",
    scope: "records:read",
    write: false,
    rateLimit: "single",
    handle: (context) => ({ status: 200, body: { success: true, data: jobs.status(jobRef(context)) } }),
  };

  const errors: Operation = {
    name: "job-status",
    method: "get",
    path: "/records/:object/jobs/:jobId/errors",
    scope: "records:read",
    write: false,
    rateLimit: "single",
    handle(context) {
      const page = jobs.errorsPage({ ...jobRef(context), limit: context.query["limit"], cursor: context.query["cursor"] });
      return { status: 200, body: { success: true, data: page } };
    },
  };

  return [batch("append-batch"), batch("upsert-batch"), status, errors];
}
