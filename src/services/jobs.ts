import { ApiError } from "../domain/errors.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import { decodeCursor, encodeCursor, pageLimit } from "../domain/paging.js";
import { parseBatchWrite } from "../domain/requests.js";
import type { BatchOperation, JobRecord, JobsStore, RowError } from "../store/jobs-store.js";
import type { JobWorker } from "./job-worker.js";
import { findObject } from "./objects.js";
import { describeJob, jobStatusPath, type JobView } from "./presenters.js";

export interface JobsServiceDeps {
  objects: ObjectRegistry;
  jobs: JobsStore;
  worker: JobWorker;
  newJobId: () => string;
}

/** One batch as the API received it. */
export interface BatchInput {
  workspace: string;
  objectName: string | undefined;
  operation: BatchOperation;
  body: unknown;
  /** The request's exact bytes: stored with the job instead of re-serializing its records. */
  rawBody: Buffer | undefined;
  now: number;
}

export interface AcceptedBatch {
  job: JobRecord;
  /** null for append-batch; the request's, else the primary key, for upsert-batch. */
  matchKey: string | null;
  acceptedRecords: number;
  statusPath: string;
  /**
   * Hands the records to the worker. Called after the commit: the worker must never see a job
   * whose transaction may still roll back. With `waitSeconds`, resolves to the job once it has
   * finished, or undefined when it has not within the wait.
   */
  handOff(waitSeconds?: number): Promise<JobView | undefined>;
}

/** A job named by the request's path. */
export interface JobRef {
  workspace: string;
  objectName: string | undefined;
  jobId: string | undefined;
}

export interface ErrorsPageInput extends JobRef {
  /** The `limit` and `cursor` query parameters as received; checked here, after the job is found. */
  limit: unknown;
  cursor: unknown;
}

export interface ErrorsPage {
  errors: RowError[];
  nextCursor: string | null;
}

export interface JobsService {
  submit(input: BatchInput): AcceptedBatch;
  status(ref: JobRef): JobView;
  errorsPage(input: ErrorsPageInput): ErrorsPage;
}

/** Batch submission, job lookup and the job's row errors, page by page. */
export function createJobsService(deps: JobsServiceDeps): JobsService {
  const findJob = (ref: JobRef): JobRecord => {
    const object = findObject(deps.objects, ref.objectName);
    const jobId = ref.jobId ?? "";
    const job = deps.jobs.get(ref.workspace, object.objectName, jobId);
    if (!job) {
      throw new ApiError("NOT_FOUND", `No ${object.objectName} job "${jobId}" in this workspace`, {
        details: { path: "jobId", value: jobId },
      });
    }
    return job;
  };

  return {
    submit(input) {
      const object = findObject(deps.objects, input.objectName);
      const request = parseBatchWrite(input.body, input.operation, object);
      const matchKey = input.operation === "upsert-batch" ? (request.matchKey ?? object.primaryKey) : null;
      const job = deps.jobs.create({
        id: deps.newJobId(),
        workspace: input.workspace,
        object: object.objectName,
        operation: input.operation,
        matchKey,
        records: request.records,
        ...(input.rawBody ? { body: input.rawBody } : {}),
        now: input.now,
      });
      return {
        job,
        matchKey,
        acceptedRecords: request.records.length,
        statusPath: jobStatusPath(job),
        async handOff(waitSeconds) {
          deps.worker.notify({ jobSeq: job.seq, records: request.records });
          if (waitSeconds === undefined) return undefined;
          const finished = await deps.worker.waitFor(job.seq, waitSeconds * 1000);
          const latest = finished ? deps.jobs.bySeq(job.seq) : undefined;
          return latest ? describeJob(latest, deps.jobs) : undefined;
        },
      };
    },

    status: (ref) => describeJob(findJob(ref), deps.jobs),

    errorsPage(input) {
      const job = findJob(input);
      const limit = pageLimit(input.limit);
      const fromIndex = decodeCursor(input.cursor);
      // One row more than the page shows: its presence is what says there is a next page.
      const page = deps.jobs.errors(job.seq, fromIndex, limit + 1);
      const next = page[limit];
      return { errors: page.slice(0, limit), nextCursor: next ? encodeCursor(next.index) : null };
    },
  };
}
