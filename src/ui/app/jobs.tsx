import { useEffect, useState } from "preact/hooks";
import { control, errorText, query } from "./api.js";
import { ClipCell, dateTimeOf, ErrorNote, Field, Section, show, StateBadge } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";
import type { JobState, JobView } from "./types.js";

const states: JobState[] = ["queued", "processing", "completed", "failed"];

export function JobsView(props: { workspace: string; feed: LiveFeed }) {
  const { workspace, feed } = props;
  const [state, setState] = useState<JobState | "">("");
  const [jobs, setJobs] = useState<JobView[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    try {
      const data = await control<{ jobs: JobView[] }>("GET", `/jobs${query({ workspace, state: state || undefined, limit: 1000 })}`);
      setJobs(data.jobs.reverse());
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  useEffect(() => {
    void load();
  }, [workspace, state]);

  const reload = useDebounced(() => void load(), 250);
  useLiveEvents(feed, (event) => {
    if (event.kind === "job" && event.job.workspace === workspace) {
      const { job } = event;
      const known = jobs.some((candidate) => candidate.jobId === job.jobId);
      // Progress is drawn straight from the event; a new job, or one that ended, is re-read for its errors and times.
      if (known) setJobs((current) => current.map((candidate) => (candidate.jobId === job.jobId ? { ...candidate, state: job.state, metrics: job.metrics } : candidate)));
      if (!known || job.state === "completed" || job.state === "failed") reload();
    }
    if (event.kind === "entry" && event.entry.workspace === workspace && (event.entry.operation === "append-batch" || event.entry.operation === "upsert-batch")) reload();
    if (event.kind === "cleared") reload();
  });

  const job = jobs.find((candidate) => candidate.jobId === selected);
  return (
    <div class="split">
      <Section
        title="Batch jobs"
        actions={
          <Field label="State">
            {(id) => (
              <select id={id} value={state} onChange={(event) => setState(event.currentTarget.value as JobState | "")}>
                <option value="">any</option>
                {states.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        }
      >
        <ErrorNote error={error} />
        <div class="table-wrap">
          <table class="jobs fixed">
            <caption class="sr-only">Batch jobs of workspace {workspace}, newest first</caption>
            <colgroup>
              <col />
              <col class="c-object" />
              <col class="c-operation" />
              <col class="c-state" />
              <col class="c-progress" />
              <col class="c-count" />
              <col class="c-count" />
              <col class="c-count" />
              <col class="c-created" />
            </colgroup>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Object</th>
                <th scope="col">Operation</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col" class="num">
                  Inserted
                </th>
                <th scope="col" class="num">
                  Merged
                </th>
                <th scope="col" class="num">
                  Invalid
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((item) => (
                <tr key={item.jobId} class={selected === item.jobId ? "selected" : ""} onClick={() => setSelected(item.jobId)}>
                  <td>
                    {/* Cut at the start: a job id's tail is what tells two jobs apart. */}
                    <button type="button" class="link mono tail-id" title={item.jobId} aria-pressed={selected === item.jobId} onClick={() => setSelected(item.jobId)}>
                      {item.jobId}
                    </button>
                  </td>
                  <ClipCell text={item.objectName} />
                  <td>{item.operation}</td>
                  <td>
                    <StateBadge state={item.state} />
                  </td>
                  <td class="nowrap">
                    <progress max={Math.max(item.metrics.totalRows, 1)} value={item.metrics.processedRows} aria-label={`${item.jobId} progress`} />{" "}
                    {item.metrics.processedRows}/{item.metrics.totalRows}
                  </td>
                  <td class="num">{item.metrics.insertedRows}</td>
                  <td class="num">{item.metrics.mergedRows}</td>
                  <td class={`num ${item.metrics.invalidRows > 0 ? "warn-text" : ""}`}>{item.metrics.invalidRows}</td>
                  <td class="when">{dateTimeOf(item.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {jobs.length === 0 ? <p class="muted empty">No jobs{state ? ` in state ${state}` : ""} in this workspace.</p> : null}
      </Section>
      {job ? <JobDetail job={job} onClose={() => setSelected(null)} /> : null}
    </div>
  );
}

function JobDetail(props: { job: JobView; onClose: () => void }) {
  const { job } = props;
  const shown = job.errors.length;
  return (
    <Section
      title={`Job ${job.jobId}`}
      heading={
        <>
          Job <span class="mono heading-id">{job.jobId}</span>
        </>
      }
      id="job-detail"
      actions={
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      }
    >
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <StateBadge state={job.state} />
        </dd>
        <dt>Object</dt>
        <dd>
          {job.objectName} ({job.operation})
        </dd>
        <dt>Created</dt>
        <dd>{dateTimeOf(job.createdAt)}</dd>
        <dt>Started</dt>
        <dd>{dateTimeOf(job.startedAt)}</dd>
        <dt>Completed</dt>
        <dd>{dateTimeOf(job.completedAt)}</dd>
        <dt>Rows</dt>
        <dd>
          {job.metrics.processedRows} of {job.metrics.totalRows} processed: {job.metrics.insertedRows} inserted, {job.metrics.mergedRows} merged,{" "}
          {job.metrics.invalidRows} invalid
        </dd>
      </dl>
      <h3>Row errors</h3>
      {shown === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ol class="row-errors">
          {job.errors.map((error, index) => (
            <li key={index}>
              <strong>{error.index === null ? "The job" : `Row ${error.index}`}</strong> <span class="mono small">{error.code}</span>
              <br />
              {error.message}
              {error.value !== null && error.value !== undefined ? (
                <>
                  {" "}
                  <span class="muted">(value</span> <code>{show(error.value)}</code>
                  <span class="muted">)</span>
                </>
              ) : null}
            </li>
          ))}
        </ol>
      )}
      {job.metrics.invalidRows > shown && shown > 0 ? (
        <p class="muted small">
          The first {shown} of {job.metrics.invalidRows}; <code>GET /public/v1{job.errorsPath}</code> pages through all of them.
        </p>
      ) : null}
    </Section>
  );
}
