// One dead letter (/dlq/ID): why it died, its task, payload and every
// failed attempt (GET /api/v1/dlq/ID, read once: show reads the DLQ to its
// end), what became of it (resubmitted as a task, or discarded), and for
// operators a resubmit of this entry and, while nothing became of it, a
// discard (POST /api/v1/dlq/discard), each a dry run first.
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { Link } from '../router.jsx';
import { fmtDuration, fmtTime, useZone } from '../time.js';
import { Live, Problem } from './common.jsx';
import { Discard, Resubmit, fate } from './Dlq.jsx';

export function DlqEntry({ id, who }) {
  const zone = useZone();
  const poll = usePoll(() => api('GET', `/dlq/${encodeURIComponent(id)}`), 0, [id]);
  const e = poll.data;
  const t = (e && e.task) || {};
  const failures = (e && (e.failures || t.failures)) || [];
  return (
    <div>
      <div class="title"><h2>Dead letter <span class="mono">{id}</span></h2><Live poll={poll} /></div>
      <p><Link href="/dlq">← all dead letters</Link></p>
      <Problem error={poll.error} />
      {e && (
        <>
          <dl class="facts">
            <dt>reason</dt><dd id="dlq-reason">{e.reason}</dd>
            {e.detail && <><dt>detail</dt><dd class="err">{e.detail}</dd></>}
            <dt>dead</dt><dd>{fmtTime(e.dead_ms, zone)}</dd>
            <dt>task</dt><dd>{t.id ? <Link href={`/tasks/${encodeURIComponent(t.id)}`} class="mono">{t.id}</Link> : '—'}</dd>
            <dt>handler</dt><dd>{t.handler || '—'}</dd>
            <dt>attempt</dt><dd>{t.attempt ?? '—'}{t.max_attempts ? ` of ${t.max_attempts}` : ''}</dd>
            {t.labels && Object.keys(t.labels).length > 0 && <><dt>labels</dt><dd class="mono">{Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(' ')}</dd></>}
            {t.origin && <><dt>origin</dt><dd class="mono">{JSON.stringify(t.origin)}</dd></>}
            <dt>on the DLQ</dt><dd class="mono">{e.dlq_partition}:{e.dlq_offset}</dd>
            <dt>became of it</dt>
            <dd id="dlq-fate" data-fate={fate(e) ?? 'unknown'}>
              {fate(e) === 'discarded' ? <strong class="fate discarded">discarded</strong>
                : fate(e) === 'resubmitted' ? <>resubmitted as <Link href={`/tasks/${encodeURIComponent(e.resubmitted_as)}`}
                  class="mono">{e.resubmitted_as}</Link></>
                : fate(e) === '' ? 'nothing yet' : 'not known (Redis could not be read)'}</dd>
            {e.dead_letters_of_id > 1 && <><dt>dead letters of this task</dt><dd>{e.dead_letters_of_id}</dd></>}
          </dl>
          {can(who, 'operator') && <Resubmit key={e.id} body={{ ids: [e.id] }} what="this entry" onDone={() => poll.reload()} />}
          {can(who, 'operator') && fate(e) === '' && (
            <Discard key={`discard${e.id}`} body={{ ids: [e.id] }} what="this entry" label="Discard"
              onDone={() => poll.reload()} />
          )}
          <h3>Attempts</h3>
          {!failures.length ? <p class="muted">No failed attempt recorded.</p> : (
            <table class="failures">
              <thead>
                <tr><th class="num">attempt</th><th>time</th><th>worker</th><th>class</th>
                  <th class="num">took</th><th>exit / HTTP</th><th>message</th></tr>
              </thead>
              <tbody>
                {failures.map((f) => (
                  <tr key={f.attempt}>
                    <td class="num">{f.attempt}</td><td>{fmtTime(f.time_ms, zone)}</td>
                    <td>{f.worker_id || '—'}</td><td>{f.failure_class}</td>
                    <td class="num">{f.duration_ms !== undefined ? fmtDuration(f.duration_ms) : '—'}</td>
                    <td>{f.exit_code ?? f.http_status ?? '—'}</td>
                    <td class="err">{f.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Payload</h3>
          <pre class="payload">{t.payload === undefined ? '—' : JSON.stringify(t.payload, null, 2)}</pre>
        </>
      )}
    </div>
  );
}
