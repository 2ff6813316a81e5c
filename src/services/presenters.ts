import type { ObjectDefinition } from "../domain/object-schema.js";
import type { JobRecord, JobsStore, RowError } from "../store/jobs-store.js";

/**
 * How jobs and objects look on the wire, shared by the public API and the control plane so the
 * dashboard and a client see the same shape.
 */

const FIRST_ERRORS = 10;

const iso = (epochMs: number | null): string | null => (epochMs === null ? null : new Date(epochMs).toISOString());
/** Where a client polls the job, relative to the public API's base path. */
export const jobStatusPath = (job: Pick<JobRecord, "object" | "id">): string => `/records/${job.object}/jobs/${job.id}`;

/** The job as GET /records/{object}/jobs/{jobId} shows it. */
export type JobView = ReturnType<typeof describeJob>;

export function describeJob(job: JobRecord, jobs: JobsStore) {
  // A job that could not run at all carries its reason as its one error, with no row index.
  const errors: (RowError | { index: null; code: string; message: string; path: null; value: null })[] =
    job.state === "failed" && job.failure
      ? [{ index: null, code: job.failure.code, message: job.failure.message, path: null, value: null }]
      : jobs.errors(job.seq, 0, FIRST_ERRORS);
  return {
    jobId: job.id,
    objectName: job.object,
    operation: job.operation,
    state: job.state,
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    completedAt: iso(job.completedAt),
    metrics: job.metrics,
    errors,
    errorsPath: `${jobStatusPath(job)}/errors`,
  };
}

/** An object as GET /metadata/objects shows it. */
export type ObjectView = ReturnType<typeof describeObject>;

export function describeObject(object: ObjectDefinition) {
  return {
    objectName: object.objectName,
    primaryKey: object.primaryKey,
    identityKeys: object.identityKeys,
    requiredFields: object.requiredFields,
    fields: object.fields.map((field) => ({
      name: field.name,
      type: field.type,
      format: field.format,
      required: field.required,
      identity: field.identity,
    })),
  };
}
