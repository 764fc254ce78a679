// Schedules (/schedules): every schedule with its cron, enabled state,
// last run and next fire (GET /api/v1/schedules, a page of 50 by id, or the
// URL's limit, with Previous / Next along its next_cursor; the first page
// every 5 s), enable and
// disable for operators (POST /api/v1/schedules/ID/enable|disable), trigger
// now (POST /api/v1/schedules/ID/trigger: the task id, linked); for
// operators also "Add schedule", and on a run-time schedule's row "edit"
// (the form: ScheduleForm.jsx) and "delete" (DELETE
// /api/v1/schedules/ID, after a confirmation; a schedule of the config
// file has neither: it is changed in the file); and one schedule's detail
// at /schedules/ID (GET /api/v1/schedules/ID, and its next five fire times,
// GET /api/v1/schedules/ID/next, every minute); the fire timeline (Gantt)
// is ScheduleTimeline.jsx at /schedules/timeline.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { Link } from '../router.jsx';
import { fmtDuration, fmtTime, useZone } from '../time.js';
import { Live, Pager, Problem, Result, useAction, usePagedList } from './common.jsx';
import { ScheduleForm } from './ScheduleForm.jsx';

const path = (id) => `/schedules/${encodeURIComponent(id)}`;

function Toggle({ s, run }) {
  const verb = s.enabled ? 'disable' : 'enable';
  return (
    <button class={`toggle ${verb}`} onClick={() => run(async () => {
      const v = await api('POST', `${path(s.id)}/${verb}`);
      return `${s.id} is ${v.enabled ? 'enabled' : 'disabled'}`;
    })}>{verb}</button>
  );
}

// Fire now: the leader fires it within a second, under the overlap policy.
function Trigger({ s, run }) {
  return (
    <button class="trigger" onClick={() => run(async () => {
      const v = await api('POST', `${path(s.id)}/trigger`);
      return <>{s.id} fires now as task <Link href={`/tasks/${encodeURIComponent(v.id)}`} class="mono task-link">{v.id}</Link> (unless its overlap policy holds it)</>;
    })}>trigger now</button>
  );
}

// A run-time schedule's edit and delete (delete asks first); form(s) opens its form.
function Edit({ s, run, form }) {
  const [asking, setAsking] = useState(false);
  if (s.source !== 'runtime') return null;
  if (!asking) {
    return <><button class="edit" onClick={() => form(s)}>edit</button>{' '}
      <button class="delete" onClick={() => setAsking(true)}>delete</button></>;
  }
  return (
    <span class="confirm">Delete {s.id}?{' '}
      <button class="danger delete-confirm" onClick={() => run(async () => {
        await api('DELETE', path(s.id));
        return `${s.id} deleted`;
      })}>Delete</button>{' '}
      <button class="link" onClick={() => setAsking(false)}>Cancel</button></span>
  );
}

const Enabled = ({ s }) => <span class={`state ${s.enabled ? 'succeeded' : 'paused'}`}>{s.enabled ? 'enabled' : 'disabled'}</span>;

export function Schedules({ who }) {
  const zone = useZone();
  const { paging, poll } = usePagedList('/schedules', []);
  const [result, run] = useAction(poll);
  // the form: null (closed), true (add) or the row changed
  const [form, setForm] = useState(null);
  const operator = can(who, 'operator');
  const list = poll.data ? poll.data.schedules : [];
  const done = (text) => { setForm(null); run(async () => text); };
  return (
    <div>
      <div class="title"><h2>Schedules</h2><Live poll={poll} /></div>
      <p><Link href="/schedules/timeline" id="timeline-link">Timeline of fires →</Link>
        {operator && !form && <>{' '}<button id="schedule-add-open" onClick={() => setForm(true)}>Add schedule</button></>}</p>
      {form && <ScheduleForm key={form === true ? '' : form.id} s={form === true ? undefined : form}
        onDone={done} onCancel={() => setForm(null)} />}
      <Problem error={poll.error} />
      <Result result={result} id="schedule-result" />
      {poll.data && (
        <table class="schedules">
          <thead>
            <tr><th>id</th><th>source</th><th>state</th><th>cron</th><th>handler</th>
              <th>next fire</th><th>last run</th><th class="num">runs · failures</th>
              {operator && <th />}</tr>
          </thead>
          <tbody>
            {list.map((s) => {
              const d = s.definition || {};
              const st = s.stats || {};
              return (
                <tr key={s.id} data-schedule={s.id}>
                  <td><Link href={path(s.id)}>{s.id}</Link></td>
                  <td>{s.source}</td><td><Enabled s={s} /></td>
                  <td class="mono">{d.cron}{d.timezone ? ` (${d.timezone})` : ''}</td>
                  <td>{d.handler}</td>
                  <td class="next">{s.enabled && st.next_ms ? fmtTime(st.next_ms, zone) : '—'}</td>
                  <td>{st.last_run_ms ? <>{fmtTime(st.last_run_ms, zone)} <span class="muted">{st.last_outcome}</span></> : '—'}</td>
                  <td class="num">{st.runs ?? 0} · {st.failures ?? 0}</td>
                  {operator && <td class="row-actions"><Toggle s={s} run={run} /> <Trigger s={s} run={run} /> <Edit s={s} run={run} form={setForm} /></td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {poll.data && !list.length && <p class="muted">No schedules.</p>}
      {poll.data && (paging.cursor || poll.data.next_cursor) &&
        <Pager paging={paging} next={poll.data.next_cursor}>{list.length} schedules on this page</Pager>}
    </div>
  );
}

// The next NEXT_COUNT fire times (GET /api/v1/schedules/ID/next): in
// the console's time choice, and in the schedule's own zone as the API
// gives it (local time with its offset and abbreviation).
const NEXT_COUNT = 5;

function NextFires({ id, enabled }) {
  const zone = useZone();
  const poll = usePoll(() => api('GET', `${path(id)}/next`, { count: NEXT_COUNT }), 60000, [id]);
  const d = poll.data;
  return (
    <>
      <h3>Next fires</h3>
      <Problem error={poll.error} />
      {d && !enabled && <p class="muted">Disabled: it does not fire at these times until enabled.</p>}
      {d && (d.times.length ? (
        <ol id="schedule-next" class="next-fires">
          {d.times.map((t) => (
            <li key={t.unix_ms} data-ms={t.unix_ms}>
              {fmtTime(t.unix_ms, zone)}
              <span class="muted"> · {t.local} {t.abbr} ({t.zone})</span>
            </li>
          ))}
        </ol>
      ) : <p class="muted" id="schedule-next-none">It fires no more within 8 years.</p>)}
    </>
  );
}

export function ScheduleDetail({ id, who }) {
  const zone = useZone();
  const poll = usePoll(() => api('GET', path(id)), 5000, [id]);
  const [result, run] = useAction(poll);
  const s = poll.data;
  const st = (s && s.stats) || {};
  return (
    <div>
      <div class="title"><h2>Schedule <span class="mono">{id}</span></h2><Live poll={poll} /></div>
      <p><Link href="/schedules">← all schedules</Link></p>
      <Problem error={poll.error} />
      {s && (
        <>
          <dl class="facts">
            <dt>state</dt><dd id="schedule-state"><Enabled s={s} /></dd>
            <dt>source</dt><dd>{s.source}</dd>
            <dt>next fire</dt><dd>{s.enabled && st.next_ms ? fmtTime(st.next_ms, zone) : '—'}</dd>
            <dt>last fire</dt><dd>{st.last_fire_ms ? fmtTime(st.last_fire_ms, zone) : '—'}</dd>
            <dt>last run</dt><dd>{st.last_run_ms ? `${fmtTime(st.last_run_ms, zone)} · ${st.last_outcome || ''}` : '—'}
              {st.last_task && <> · <Link href={`/tasks/${encodeURIComponent(st.last_task)}`} class="mono">{st.last_task}</Link></>}</dd>
            <dt>fires · runs</dt><dd>{st.fires ?? 0} fires ({st.skipped ?? 0} skipped, {st.duplicates ?? 0} duplicates) · {st.runs ?? 0} runs: {st.successes ?? 0} succeeded, {st.failures ?? 0} failed, {st.retries ?? 0} retries{st.running ? ' · running now' : ''}</dd>
            <dt>duration</dt><dd>{st.avg_ms ? `avg ${fmtDuration(st.avg_ms)} · p95 ${fmtDuration(st.p95_ms)}` : '—'}</dd>
          </dl>
          {can(who, 'operator') && <div class="actions"><Toggle s={s} run={run} /> <Trigger s={s} run={run} /></div>}
          <Result result={result} id="schedule-result" />
          <NextFires id={id} enabled={s.enabled} />
          <h3>Definition</h3>
          <pre class="payload">{JSON.stringify(s.definition, null, 2)}</pre>
        </>
      )}
    </div>
  );
}
