// Task detail (/tasks/ID): state, labels and origin, the attempts as a
// timeline on one time axis, pause / resume / skip / cancel for operators
// (GET /api/v1/tasks/ID, POST /api/v1/tasks/ID/ACTION), a dead task's
// retry with new parameters for operators (POST /api/v1/tasks/ID/retry:
// Preview is its dry run, Retry sends what was previewed), and the lineage:
// the tasks resubmissions of dead letters link to this one (GET
// /api/v1/tasks/ID/lineage, read once: it reads the DLQ). The task comes
// by the event stream (GET /api/v1/live?task=ID: a `task` event whenever
// its state, attempt or update time changes), and by polling GET
// /api/v1/tasks/ID every 5 s while the stream is down.
import { useEffect, useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { useLiveTask } from '../live.js';
import { Link } from '../router.jsx';
import { fmtDuration, fmtTime, useZone } from '../time.js';
import { Live, Problem, Result, useAction } from './common.jsx';
import { NO_OPTIONS, TaskOptions, optionsBody } from './TaskOptions.jsx';

const ACTIONS = ['pause', 'resume', 'skip', 'cancel'];

function Timeline({ history, now }) {
  const zone = useZone();
  if (!history || !history.length) return <p class="muted">No attempt yet.</p>;
  const start = Math.min(...history.map((a) => a.started_ms || now));
  const end = Math.max(...history.map((a) => a.finished_ms || now));
  const span = Math.max(end - start, 1);
  const pct = (ms) => `${((100 * (ms - start)) / span).toFixed(2)}%`;
  return (
    <ol class="timeline">
      {history.map((a) => {
        const s = a.started_ms || now;
        const f = a.finished_ms || now;
        return (
          <li key={a.attempt} class={a.state}>
            <div class="when">
              <strong>#{a.attempt}</strong> <span class={`state ${a.state}`}>{a.state}</span>
              {' '}{fmtTime(a.started_ms, zone)}
              {a.finished_ms ? ` · ${fmtDuration(a.finished_ms - a.started_ms)}` : ' · running'}
              {a.worker && <span class="muted"> · {a.worker}</span>}
            </div>
            <div class="track">
              <div class="bar" style={{ left: pct(s), width: `max(2px, ${((100 * (f - s)) / span).toFixed(2)}%)` }} />
            </div>
            {a.error && <div class="err">{a.class ? `${a.class}: ` : ''}{a.error}</div>}
          </li>
        );
      })}
    </ol>
  );
}

// Oldest first; this task marked. Each dead letter says what its
// resubmission sent.
function Lineage({ id }) {
  const zone = useZone();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = () => {
    setError(null);
    api('GET', `/tasks/${encodeURIComponent(id)}/lineage`).then(setData, setError);
  };
  useEffect(load, [id]);
  if (error) return <Problem error={error} />;
  if (!data) return <p class="muted">Reading the lineage…</p>;
  return (
    <div id="lineage">
      <ol class="lineage">
        {data.tasks.map((t) => (
          <li key={t.id} class={t.id === id ? 'current' : ''}>
            <Link href={`/tasks/${encodeURIComponent(t.id)}`} class="mono">{t.id}</Link>
            {' '}{t.state
              ? <span class={`state ${t.state.state}`}>{t.state.state}</span>
              : <span class="muted">no state record</span>}
            {t.state && t.state.handler && <span class="muted"> · {t.state.handler}</span>}
            {t.origin && t.origin.schedule_id && <span class="muted"> · fired by schedule {t.origin.schedule_id}</span>}
            {t.origin && t.origin.event_id && <span class="muted"> · from event {t.origin.event_id}</span>}
            <ul>
              {t.dead_letters.map((d) => (
                <li key={d.id}>
                  dead letter <Link href={`/dlq/${encodeURIComponent(d.id)}`} class="mono">{d.id}</Link>
                  {' '}{d.reason} · {fmtTime(d.dead_ms, zone)}
                  {d.resubmitted_as ? <> · resubmitted as <Link href={`/tasks/${encodeURIComponent(d.resubmitted_as)}`} class="mono">{d.resubmitted_as}</Link></> : ' · not resubmitted'}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
      {data.truncated && <p class="muted">More than 16 tasks: the rest are left out.</p>}
      <button onClick={load}>Read again</button>
    </div>
  );
}

// A dead task again as a new task from its newest dead letter, with
// payload patches, priority and max attempts. Preview shows the task the
// API would send; Retry sends that body (a change of the options asks for
// a new preview) and links the new task.
function Retry({ id }) {
  const [opts, setOpts] = useState(NO_OPTIONS);
  const [preview, setPreview] = useState(null);
  const [result, run] = useAction(null);
  const path = `/tasks/${encodeURIComponent(id)}/retry`;
  const change = (o) => { setOpts(o); setPreview(null); };
  const check = () => run(async () => {
    setPreview(null);
    const sent = optionsBody(opts);
    setPreview({ sent, answer: await api('POST', path, null, { ...sent, dry_run: true }) });
    return '';
  });
  const send = () => run(async () => {
    const r = await api('POST', path, null, preview.sent);
    setPreview(null);
    return <>Retried as task <Link href={`/tasks/${encodeURIComponent(r.id)}`} class="mono task-link">{r.id}</Link>
      {' '}(from dead letter <span class="mono">{r.dead_letter_id}</span>).</>;
  });
  const p = preview && preview.answer;
  const t = (p && p.task) || {};
  return (
    <div id="retry" class="retry">
      <h3>Retry with new parameters</h3>
      <TaskOptions id="retry" value={opts} onChange={change} />
      <div class="actions">
        <button id="retry-preview" onClick={check}>Preview</button>
        <button id="retry-send" disabled={!preview} onClick={send}
          title={preview ? '' : 'preview first'}>Retry</button>
      </div>
      {p && (
        <div id="retry-dry" data-priority={t.priority} data-max-attempts={t.max_attempts}>
          <p class="muted">Dry run: nothing sent. Retry sends task <span class="mono">{p.id}</span> to
            {' '}<span class="mono">{p.topic}</span> from dead letter <span class="mono">{p.dead_letter_id}</span>:</p>
          <dl class="facts">
            <dt>handler</dt><dd>{t.handler || '—'}</dd>
            <dt>priority</dt><dd id="retry-dry-priority">{t.priority ?? '—'}</dd>
            <dt>max attempts</dt><dd id="retry-dry-max-attempts">{t.max_attempts ?? '—'}</dd>
            {t.policy && <><dt>policy</dt><dd>{t.policy}</dd></>}
          </dl>
          <pre class="payload" id="retry-dry-payload">{t.payload === undefined ? '—' : JSON.stringify(t.payload, null, 2)}</pre>
        </div>
      )}
      {result && result.ok !== '' && <Result result={result} id="retry-result" />}
    </div>
  );
}

export function TaskDetail({ id, who }) {
  const zone = useZone();
  const poll = useLiveTask(id, () => api('GET', `/tasks/${encodeURIComponent(id)}`), 5000);
  const [reason, setReason] = useState('');
  const [result, setResult] = useState(null);
  const t = poll.data;

  const act = async (action) => {
    setResult(null);
    try {
      const body = reason.trim() ? { reason: reason.trim() } : {};
      const r = await api('POST', `/tasks/${encodeURIComponent(id)}/${action}`, null, body);
      setResult({ ok: `${action}: sent${r.state_known ? '' : ' (no worker has recorded the task yet; it acts when one reaches it)'}` });
      poll.reload();
    } catch (e) {
      setResult({ error: e });
    }
  };
  return (
    <div>
      <div class="title"><h2>Task <span class="mono">{id}</span></h2><Live poll={poll} /></div>
      <Problem error={poll.error} />
      {t && (
        <>
          <dl class="facts">
            <dt>state</dt><dd><span id="task-state" class={`state ${t.state}`}>{t.state}</span></dd>
            <dt>handler</dt><dd>{t.handler || '—'}</dd>
            <dt>attempt</dt><dd id="task-attempt">{t.attempt}</dd>
            {t.priority && <><dt>priority</dt><dd>{t.priority}</dd></>}
            <dt>created</dt><dd>{fmtTime(t.created_ms, zone)}</dd>
            <dt>updated</dt><dd>{fmtTime(t.updated_ms, zone)}</dd>
            {t.due_ms && <><dt>next run</dt><dd>{fmtTime(t.due_ms, zone)}</dd></>}
            {t.worker && <><dt>worker</dt><dd>{t.worker}</dd></>}
            {t.last_error && <><dt>last error</dt><dd class="err">{t.last_error}</dd></>}
            {t.labels && typeof t.labels === 'object' && <><dt>labels</dt><dd class="mono">{Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(' ')}</dd></>}
            {t.origin && <><dt>origin</dt><dd class="mono">{JSON.stringify(t.origin)}</dd></>}
          </dl>
          {can(who, 'operator') && (
            <div class="actions">
              <input placeholder="reason (skip needs one)" value={reason}
                onInput={(e) => setReason(e.target.value)} />
              {ACTIONS.map((a) => (
                <button id={`task-${a}`} onClick={() => act(a)}
                  disabled={a === 'skip' && !reason.trim()}>{a}</button>
              ))}
            </div>
          )}
          {result && (result.error ? <Problem error={result.error} /> : <p class="ok">{result.ok}</p>)}
          {can(who, 'operator') && t.state === 'dead' && <Retry key={id} id={id} />}
          <h3>Attempts</h3>
          <Timeline history={t.history} now={poll.at || Date.now()} />
        </>
      )}
      <h3>Lineage</h3>
      <Lineage id={id} />
    </div>
  );
}
