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

// The task's whole life on one time axis, from what GET /tasks/ID and the
// lineage already give: the origin at the start, the wait from creation
// to the first attempt ("queued"), each delay between two attempts (retry
// backoff), each wait without an attempt the worker recorded (t.waits: an
// open breaker or a limit turned the task away), drawn over the queued or
// delay segment it sits in, from its at_ms to the next attempt's start
// (to until_ms once the task ended without one, to now while it waits), a
// retrying task's planned next run (due_ms) as a dashed mark, the dead
// letters (dead_ms, linked to their page) and the tasks their
// resubmissions sent (linked). Every segment and mark has a tooltip with
// the exact times (UTC, or local when chosen) and data-from / data-to /
// data-at in ms (a wait also data-breaker or data-limit) for the browser
// checks.
export function lifeOf(t, mine, tasks, now) {
  const h = [...(t.history || [])].sort((a, b) => a.attempt - b.attempt);
  const o = t.origin || {};
  const segs = [];
  const marks = [];
  const created = t.created_ms || o.scheduled_ms || 0;
  const first = h.length ? h[0].started_ms : 0;
  const ended = ['succeeded', 'dead', 'cancelled', 'skipped'].includes(t.state);
  if (created) {
    const to = first || (ended ? 0 : now);
    if (to && to >= created) segs.push({ kind: 'queued', from: created, to });
  }
  for (let i = 1; i < h.length; i++) {
    const a = h[i - 1], b = h[i];
    if (a.finished_ms && b.started_ms) segs.push({ kind: 'delay', from: a.finished_ms, to: b.started_ms, after: a.attempt });
  }
  const last = h[h.length - 1];
  if (t.state === 'retrying' && last && last.finished_ms) {
    segs.push({ kind: 'delay', from: last.finished_ms, to: Math.max(now, last.finished_ms), after: last.attempt, open: true });
  }
  for (const w of t.waits || []) {
    if (!w.at_ms) continue;
    const next = h.find((a) => a.attempt > w.attempt && a.started_ms >= w.at_ms);
    const open = !next && !ended;
    const to = next ? next.started_ms : open ? Math.max(now, w.at_ms) : Math.max(w.until_ms, w.at_ms);
    segs.push({ kind: w.kind === 'limit' ? 'limit' : 'breaker', from: w.at_ms, to, open, w });
  }
  const originAt = o.scheduled_ms || created;
  if (originAt && (o.schedule_id || o.event_id || o.dead_letter_id || o.parent_task_id)) {
    marks.push({ kind: 'origin', at: originAt, o });
  }
  if (t.state === 'retrying' && t.due_ms) marks.push({ kind: 'due', at: t.due_ms });
  const byId = new Map((tasks || []).map((x) => [x.id, x]));
  for (const d of (mine && mine.dead_letters) || []) {
    if (!d.dead_ms) continue;
    marks.push({ kind: 'dlq', at: d.dead_ms, d });
    if (d.resubmitted_as) {
      const n = byId.get(d.resubmitted_as);
      const at = (n && n.state && n.state.created_ms) || d.dead_ms;
      marks.push({ kind: 'resub', at, d, id: d.resubmitted_as });
    }
  }
  const times = [created, originAt, ...h.flatMap((a) => [a.started_ms, a.finished_ms || (a.started_ms ? now : 0)]),
    ...segs.flatMap((s) => [s.from, s.to]), ...marks.map((m) => m.at)].filter((x) => x > 0);
  if (!ended && times.length) times.push(now);
  return { h, segs, marks, start: Math.min(...times), end: Math.max(...times) };
}

const SEG_NAME = { queued: 'queued', delay: 'delay', breaker: 'breaker', limit: 'limit' };

// "queued", "delay after #2", "waited for breaker pay" (legend and tooltip).
function segLabel(s) {
  if (s.w) return `${s.open ? 'waiting' : 'waited'} for ${s.kind} ${s.w.name}`;
  return s.kind === 'queued' ? 'queued' : `delay after #${s.after}`;
}

function Timeline({ t, lineage, now }) {
  const zone = useZone();
  const exact = (ms) => fmtTime(ms, zone === 'local' ? 'local' : 'utc');
  const mine = lineage && lineage.tasks.find((x) => x.id === t.id);
  const { h, segs, marks, start, end } = lifeOf(t, mine, lineage && lineage.tasks, now);
  if (!isFinite(start)) return <p class="muted">No attempt yet.</p>;
  const span = Math.max(end - start, 1);
  const pos = (ms) => (100 * (ms - start)) / span;
  const pct = (ms) => `${pos(ms).toFixed(2)}%`;
  const width = (a, b) => `max(2px, ${((100 * (b - a)) / span).toFixed(2)}%)`;
  const markTitle = (m) => {
    if (m.kind === 'origin') {
      const o = m.o;
      const what = o.schedule_id ? `fired by schedule ${o.schedule_id}${o.scheduled_ms ? ` (nominal ${exact(o.scheduled_ms)})` : ''}`
        : o.event_id ? `from event ${o.event_id}`
        : o.dead_letter_id ? `resubmitted from dead letter ${o.dead_letter_id}`
        : `chained from task ${o.parent_task_id}`;
      return `origin: ${what} · ${exact(m.at)}`;
    }
    if (m.kind === 'due') return `next run planned ${exact(m.at)}`;
    if (m.kind === 'dlq') return `dead letter ${m.d.id}: ${m.d.reason} · ${exact(m.at)}`;
    return `resubmitted as task ${m.id} · ${exact(m.at)}`;
  };
  const markHref = (m) => {
    if (m.kind === 'dlq') return `/dlq/${encodeURIComponent(m.d.id)}`;
    if (m.kind === 'resub') return `/tasks/${encodeURIComponent(m.id)}`;
    if (m.kind === 'origin') {
      const o = m.o;
      if (o.schedule_id) return `/schedules/${encodeURIComponent(o.schedule_id)}`;
      if (o.dead_letter_id) return `/dlq/${encodeURIComponent(o.dead_letter_id)}`;
      if (o.parent_task_id) return `/tasks/${encodeURIComponent(o.parent_task_id)}`;
    }
    return null;
  };
  const markLabel = { origin: '◆', due: '', dlq: '✕', resub: '↻' };
  return (
    <>
      <div class="life" id="life">
        <div class="life-axis muted">
          <span title={exact(start)}>{fmtTime(start, zone)}</span>
          <span title={exact(end)}>{fmtTime(end, zone)}</span>
        </div>
        <div class="life-track">
          {h.map((a) => !a.started_ms ? null : (
            <div key={`a${a.attempt}`} class={`seg attempt ${a.state}`}
              style={{ left: pct(a.started_ms), width: width(a.started_ms, a.finished_ms || now) }}
              title={`attempt #${a.attempt} ${a.state}: ${exact(a.started_ms)} – ${a.finished_ms ? exact(a.finished_ms) : 'running'}`} />
          ))}
          {segs.map((s) => (
            <div key={`${s.kind}${s.from}${s.w ? s.w.name : ''}`} class={`seg ${s.kind}${s.open ? ' open' : ''}`}
              data-from={s.from} data-to={s.to} data-after={s.after}
              data-breaker={s.kind === 'breaker' ? s.w.name : undefined}
              data-limit={s.kind === 'limit' ? s.w.name : undefined}
              style={{ left: pct(s.from), width: width(s.from, s.to) }}
              title={s.w
                ? `${segLabel(s)}${s.w.state ? ` (${s.w.state})` : ''}: ${exact(s.from)} – ${s.open ? 'now' : exact(s.to)} (${fmtDuration(s.to - s.from)}) · turned away ${s.w.turns} time${s.w.turns === 1 ? '' : 's'}, last until ${exact(s.w.until_ms)}`
                : `${SEG_NAME[s.kind]}${s.after ? ` after attempt #${s.after}` : ''}: ${exact(s.from)} – ${s.open ? 'now' : exact(s.to)} (${fmtDuration(s.to - s.from)})`} />
          ))}
          {marks.map((m) => {
            const href = markHref(m);
            const props = { class: `mark ${m.kind}`, 'data-at': m.at, style: { left: pct(m.at) }, title: markTitle(m) };
            const key = `${m.kind}${m.at}${m.id || (m.d && m.d.id) || ''}`;
            return href
              ? <Link key={key} href={href} {...props}>{markLabel[m.kind]}</Link>
              : <span key={key} {...props}>{markLabel[m.kind]}</span>;
          })}
        </div>
        <ul class="life-legend">
          {marks.filter((m) => m.kind !== 'due').map((m) => {
            const href = markHref(m);
            const label = markTitle(m);
            return <li key={`l${m.kind}${m.at}${m.id || (m.d && m.d.id) || ''}`} class={`legend-${m.kind}`}>
              <span class={`mark-key ${m.kind}`}>{markLabel[m.kind]}</span>{' '}
              {href ? <Link href={href}>{label.split(' · ')[0]}</Link> : label.split(' · ')[0]}
              <span class="muted"> · {fmtTime(m.at, zone)}</span>
            </li>;
          })}
          {segs.map((s) => (
            <li key={`ls${s.kind}${s.from}${s.w ? s.w.name : ''}`} class={`legend-${s.kind}`}>
              <span class={`seg-key ${s.kind}`} />{' '}
              {segLabel(s)}{s.w ? ',' : ''}
              {' '}{s.open ? `${fmtDuration(s.to - s.from)} so far` : fmtDuration(s.to - s.from)}
              {s.open && !s.w && t.due_ms ? <span class="muted"> · next run {fmtTime(t.due_ms, zone)}</span> : null}
            </li>
          ))}
        </ul>
      </div>
      {!h.length ? <p class="muted">No attempt yet.</p> : (
        <ol class="timeline">
          {h.map((a) => {
            const s = a.started_ms || now;
            const f = a.finished_ms || now;
            return (
              <li key={a.attempt} class={a.state}>
                <div class="when">
                  <strong>#{a.attempt}</strong> <span class={`state ${a.state}`}>{a.state}</span>
                  {' '}<span title={exact(a.started_ms)}>{fmtTime(a.started_ms, zone)}</span>
                  {a.finished_ms ? ` · ${fmtDuration(a.finished_ms - a.started_ms)}` : ' · running'}
                  {a.worker && <span class="muted"> · {a.worker}</span>}
                </div>
                <div class="track">
                  <div class="bar" style={{ left: pct(s), width: width(s, f) }} />
                </div>
                {a.error && <div class="err">{a.class ? `${a.class}: ` : ''}{a.error}</div>}
              </li>
            );
          })}
        </ol>
      )}
    </>
  );
}

// Oldest first; this task marked. Each dead letter says what its
// resubmission sent.
function useLineage(id) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = () => {
    setError(null);
    api('GET', `/tasks/${encodeURIComponent(id)}/lineage`).then(setData, setError);
  };
  useEffect(load, [id]);
  return { data, error, load };
}

function Lineage({ lineage }) {
  const zone = useZone();
  const { data, error, load } = lineage;
  const id = data && data.id;
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
  const lineage = useLineage(id);

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
          <Timeline t={{ ...t, id }} lineage={lineage.data} now={poll.at || Date.now()} />
        </>
      )}
      <h3>Lineage</h3>
      <Lineage lineage={lineage} />
    </div>
  );
}
