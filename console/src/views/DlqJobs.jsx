// DLQ jobs (/dlq/jobs): DLQ resubmissions and discards (their kind) the
// coordinators run as durable jobs (POST /api/v1/dlq/jobs, a discard also
// POST /api/v1/dlq/discard), each with its state and progress;
// one job (/dlq/jobs/ID) with its counts, progress bar and, for operators,
// Pause / Resume / Cancel, re-read every 1.5 s until it ends, and its
// failures (GET /api/v1/dlq/jobs/ID/failures: the entries it could not
// resubmit, with why; 50 a page, or the URL's limit, on the cursors; the
// first page every 5 s). <JobStart>
// starts one after a dry run's exact count (the Failures view's "Retry
// group").
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { Link, navigate } from '../router.jsx';
import { fmtTime, useZone } from '../time.js';
import { ListHead, Live, PagedTable, Problem, Result, useAction, usePagedList } from './common.jsx';
import { NO_OPTIONS, TaskOptions, optionsBody, optionsSummary } from './TaskOptions.jsx';

const ENDED = ['done', 'failed', 'cancelled'];
const jobHref = (id) => `/dlq/jobs/${encodeURIComponent(id)}`;
const pct = (j) => `${Math.floor((j.progress || 0) * 100)}%`;
const what = (j) => (j.spec && j.spec.group ? `group ${j.spec.group}`
  : JSON.stringify((j.spec && j.spec.filter) || {}));
const discards = (j) => j.kind === 'discard';
// what the job did to each entry: resubmitted, or discarded
const done = (j) => (discards(j) ? j.discarded : j.resubmitted);
// the spec's changes to the tasks: patches, priority, attempts
const withWhat = (j) => ['set', 'priority', 'max_attempts', 'reset_attempts']
  .filter((k) => j.spec && j.spec[k] !== undefined)
  .map((k) => `${k} ${JSON.stringify(j.spec[k])}`).join(' · ');

// <JobStart body={{group} or {filter}} label="Retry group" />: the
// options (payload patches, priority, attempts; TaskOptions.jsx), a dry
// run's count of them first, then the job with the same body on confirm;
// its page follows.
export function JobStart({ body, label }) {
  const [opts, setOpts] = useState(NO_OPTIONS);
  const [dry, setDry] = useState(null);
  const [result, run] = useAction(null);
  const check = () => run(async () => {
    const sent = { ...body, ...optionsBody(opts) };
    setDry({ sent, answer: await api('POST', '/dlq/jobs', null, { ...sent, dry_run: true }) });
    return '';
  });
  const confirm = () => run(async () => {
    const j = await api('POST', '/dlq/jobs', null, dry.sent);
    navigate(jobHref(j.id));
    return '';
  });
  const d = dry && dry.answer;
  return (
    <div class="job-start">
      <details class="options">
        <summary>Options: payload patches, priority, attempts</summary>
        <TaskOptions id="job" value={opts} onChange={setOpts} extra={['reset']} disabled={!!dry} />
      </details>
      <div class="actions">
        {!dry && <button id="job-dry" onClick={check}>{label}…</button>}
        {dry && (
          <>
            <span id="job-count" data-count={d.count}>
              Dry run: <strong>{d.count}</strong> {d.count === 1 ? 'entry' : 'entries'} would be
              resubmitted ({d.matched} matched, {d.already_resubmitted} already resubmitted
              {d.failed ? `, ${d.failed} would fail` : ''}); options: <span id="job-options">{optionsSummary(opts)}</span>.
            </span>
            <button id="job-confirm" disabled={!d.count} onClick={confirm}>Start a job for {d.count}</button>
            <button class="link" onClick={() => setDry(null)}>Cancel</button>
          </>
        )}
      </div>
      {result && result.ok !== '' && <Result result={result} />}
    </div>
  );
}

export function DlqJob({ id, who }) {
  const zone = useZone();
  const poll = usePoll(() => api('GET', jobHref(id)), 1500, [id]);
  const [result, run] = useAction(poll);
  const j = poll.data;
  const act = (verb) => run(async () => {
    const r = await api('POST', `${jobHref(id)}/${verb}`);
    return `Job ${r.state}.`;
  });
  return (
    <div>
      <div class="title"><h2>{j && discards(j) ? 'Discard' : 'Resubmission'} job <span class="mono">{id}</span></h2>
        <Live poll={poll} /></div>
      <p><Link href="/dlq/jobs">← all jobs</Link></p>
      <Problem error={poll.error} />
      {j && (
        <>
          <p><progress id="job-progress" max="1" value={j.progress} /> <span id="job-pct">{pct(j)}</span>
            {' '}<strong id="job-state" data-state={j.state}>{j.state}</strong></p>
          <dl class="facts">
            <dt>kind</dt><dd id="job-kind" data-kind={j.kind}>{j.kind}</dd>
            <dt>{discards(j) ? 'discards' : 'resubmits'}</dt><dd>{what(j)}</dd>
            {withWhat(j) && <><dt>with</dt><dd class="mono" id="job-with">{withWhat(j)}</dd></>}
            <dt>counts</dt><dd id="job-counts" data-sent={done(j)}>{done(j)} {discards(j) ? 'discarded' : 'resubmitted'} ·
              {' '}{j.matched} matched · {j.already_resubmitted} already resubmitted
              {' '}· {j.already_discarded || 0} already discarded · {j.failed} failed</dd>
            <dt>read</dt><dd>{j.read} of {j.total} DLQ records</dd>
            <dt>created</dt><dd>{fmtTime(j.created_ms, zone)} by {j.created_by || '—'}</dd>
            <dt>runner</dt><dd>{j.runner || '—'}</dd>
            {j.ended_ms > 0 && <><dt>ended</dt><dd>{fmtTime(j.ended_ms, zone)}</dd></>}
            {j.error && <><dt>error</dt><dd class="err">{j.error}</dd></>}
          </dl>
          {can(who, 'operator') && !ENDED.includes(j.state) && (
            <div class="actions">
              {j.state === 'paused' ? <button id="job-resume" onClick={() => act('resume')}>Resume</button>
                : <button id="job-pause" onClick={() => act('pause')}>Pause</button>}
              <button id="job-cancel" class="danger" onClick={() => act('cancel')}>Cancel</button>
            </div>
          )}
          <Result result={result} id="job-result" />
          <JobFailures id={id} />
        </>
      )}
    </div>
  );
}

// The entries a job could not resubmit (the first 1,000 are kept).
function JobFailures({ id }) {
  const { paging, poll, page } = usePagedList(jobHref(id), [], `${jobHref(id)}/failures`);
  return (
    <>
      <h3>Failures{page && <span id="job-failures-total" data-total={page.failures_total}> ({page.failures_total})</span>}</h3>
      <Problem error={poll.error} />
      {page && (
        <PagedTable name="job-failures" paging={paging} page={page} rows={page.failures} noun="failures"
          head={<><th>dead letter</th><th>why</th></>}
          row={(f) => (
            <tr key={f.dead_letter_id} data-dead-letter={f.dead_letter_id}>
              <td><Link href={`/dlq/${encodeURIComponent(f.dead_letter_id)}`} class="mono">{f.dead_letter_id}</Link></td>
              <td class="err">{f.error}</td>
            </tr>
          )}
        >
          {page.failures.length} shown of {page.failures_total}</PagedTable>
      )}
    </>
  );
}

export function DlqJobs() {
  const zone = useZone();
  const { paging, poll, page } = usePagedList('/dlq/jobs', []);
  return (
    <div>
      <p><Link href="/dlq">Dead letters</Link> · <Link href="/dlq/groups">Failures</Link> · <strong>Jobs</strong></p>
      <ListHead title="DLQ jobs" poll={poll} paging={paging} fields={[]} />
      {page && (
        <PagedTable name="jobs" paging={paging} page={page} rows={page.jobs} noun="jobs"
          head={<><th>job</th><th>kind</th><th>state</th><th>progress</th><th class="num">done</th>
            <th>of</th><th>created</th></>}
          row={(j) => (
            <tr key={j.id} data-job={j.id} data-state={j.state} data-kind={j.kind}>
              <td><Link href={jobHref(j.id)} class="mono">{j.id}</Link></td>
              <td>{j.kind}</td><td>{j.state}</td>
              <td><progress max="1" value={j.progress} /> {pct(j)}</td>
              <td class="num" title={discards(j) ? 'discarded' : 'resubmitted'}>{done(j)}</td>
              <td class="mono">{what(j)}</td>
              <td>{fmtTime(j.created_ms, zone)}</td>
            </tr>
          )}
        >
          {page.jobs.length} shown</PagedTable>
      )}
    </div>
  );
}
