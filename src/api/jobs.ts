import { ApiError } from "../domain/errors.js";
import { decodeCursor, encodeCursor, pageLimit } from "../domain/paging.js";
import { parseBatchWrite } from "../domain/requests.js";
import type { JobWorker } from "../services/job-worker.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import type { BatchOperation, JobRecord, JobsStore, RowError } from "../store/jobs-store.js";
import type { Operation, OperationContext, OperationResult } from "../http/operation.js";
import { findObject } from "../services/objects.js";
import { describeJob } from "../services/presenters.js";

export interface JobsDeps {
  objects: ObjectRegistry;
  jobs: JobsStore;
  worker: JobWorker;
  newJobId: () => string;
}

export const MAX_PREFER_WAIT_SECONDS = 30;

const statusPath = (job: JobRecord): string => `/records/${job.object}/jobs/${job.id}`;

/** `Prefer: wait=N` (RFC 7240), capped at 30 seconds; undefined when absent or malformed. */
export function preferredWaitSeconds(prefer: string | undefined): number | undefined {
  const match = prefer ? /(?:^|[,;\s])wait\s*=\s*"?(\d+)"?/i.exec(prefer) : null;
  if (!match?.[1]) return undefined;
  return Math.min(Number(match[1]), MAX_PREFER_WAIT_SECONDS);
}

function findJob(deps: JobsDeps, context: OperationContext): JobRecord {
  const object = findObject(deps.objects, context.params["object"]);
  const jobId = context.params["jobId"] ?? "";
  const job = deps.jobs.get(context.workspace, object.objectName, jobId);
  if (!job) {
    throw new ApiError("NOT_FOUND", `No ${object.objectName} job "${jobId}" in this workspace`, {
      details: { path: "jobId", value: jobId },
    });
  }
  return job;
}

export function createJobOperations(deps: JobsDeps): Operation[] {
  const batch = (operation: BatchOperation): Operation => ({
    name: operation,
    method: "post",
    path: `/records/:object/${operation}`,
    scope: "records:write",
    write: true,
    rateLimit: "batch",
    handle(context): OperationResult {
      const object = findObject(deps.objects, context.params["object"]);
      const request = parseBatchWrite(context.body, operation, object);
      const matchKey = operation === "upsert-batch" ? (request.matchKey ?? object.primaryKey) : null;
      const job = deps.jobs.create({
        id: deps.newJobId(),
        workspace: context.workspace,
        object: object.objectName,
        operation,
        matchKey,
        records: request.records,
        ...(context.rawBody ? { body: context.rawBody } : {}),
        now: context.now,
      });
      const waitSeconds = preferredWaitSeconds(context.prefer);
      return {
        status: 202,
        body: {
          success: true,
          data: {
            operation,
            objectName: object.objectName,
            jobId: job.id,
            state: "queued",
            acceptedRecords: request.records.length,
            statusPath: statusPath(job),
            ...(matchKey === null ? {} : { matchKey }),
          },
        },
        after: async () => {
          deps.worker.notify({ jobSeq: job.seq, records: request.records });
          if (waitSeconds === undefined) return undefined;
          const finished = await deps.worker.waitFor(job.seq, waitSeconds * 1000);
          const latest = finished ? deps.jobs.bySeq(job.seq) : undefined;
          if (!latest) return undefined;
          return {
            status: 200,
            body: { success: true, data: describeJob(latest, deps.jobs) },
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
    handle: (context) => ({ status: 200, body: { success: true, data: describeJob(findJob(deps, context), deps.jobs) } }),
  };

  const errors: Operation = {
    name: "job-status",
    method: "get",
    path: "/records/:object/jobs/:jobId/errors",
    scope: "records:read",
    write: false,
    rateLimit: "single",
    handle(context) {
      const job = findJob(deps, context);
      const limit = pageLimit(context.query["limit"]);
      const fromIndex = decodeCursor(context.query["cursor"]);
      const page = deps.jobs.errors(job.seq, fromIndex, limit + 1);
      const rows = page.slice(0, limit);
      const next = page[limit];
      return {
        status: 200,
        body: {
          success: true,
          data: { errors: rows, nextCursor: next ? encodeCursor(next.index) : null },
        },
      };
    },
  };

  return [batch("append-batch"), batch("upsert-batch"), status, errors];
}
