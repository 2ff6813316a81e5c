import { useEffect, useState } from "preact/hooks";
import type { JobView } from "../../domain/control-plane.js";
import { jobStates, type JobState } from "../../domain/vocabulary.js";
import { control, query, settle } from "./api.js";
import { ClipCell, dateTimeOf, DetailSection, ErrorNote, FixedTable, Section, Select, show, StateBadge, type Column } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";

/** The job id takes what the others leave; all narrower beside an open detail. */
const columns: readonly Column[] = [
  { heading: "Job" },
  { heading: "Object", wide: "110px", narrow: "80px" },
  { heading: "Operation", wide: "120px", narrow: "96px" },
  { heading: "State", wide: "112px", narrow: "104px" },
  { heading: "Progress", wide: "150px", narrow: "100px" },
  { heading: "Inserted", class: "num", wide: "80px", narrow: "70px" },
  { heading: "Merged", class: "num", wide: "80px", narrow: "70px" },
  { heading: "Invalid", class: "num", wide: "80px", narrow: "70px" },
  { heading: "Created", wide: "164px", narrow: "100px" },
];

export function JobsView(props: { workspace: string; feed: LiveFeed }) {
  const { workspace, feed } = props;
  const [state, setState] = useState<JobState | "">("");
  const [jobs, setJobs] = useState<JobView[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () =>
    settle(control<{ jobs: JobView[] }>("GET", `/jobs${query({ workspace, state: state || undefined, limit: 1000 })}`), {
      apply: (data) => {
        setJobs(data.jobs.reverse());
        setError(null);
      },
      onError: setError,
    });
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
        actions={<Select label="State" value={state} options={jobStates} anyLabel="any" onChange={(value) => setState(value as JobState | "")} />}
      >
        <ErrorNote error={error} />
        <FixedTable class="jobs" caption={`Batch jobs of workspace ${workspace}, newest first`} columns={columns} minWidth={{ wide: "1000px", narrow: "780px" }}>
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
        </FixedTable>
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
    <DetailSection kind="Job" name={job.jobId} id="job-detail" onClose={props.onClose}>
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
    </DetailSection>
  );
}
