// Overview: tasks waiting per band and delay tier, their age and rates,
// and the workers (GET /api/v1/queues): pushed every 2 s by the event
// stream (GET /api/v1/live), or polled every 5 s when it is not there;
// and the tasks per second by outcome per band (Outcomes.jsx, polled).
import { api } from '../api.js';
import { useLive } from '../live.js';
import { fmtDuration } from '../time.js';
import { Live, Problem } from './common.jsx';
import { Outcomes } from './Outcomes.jsx';

const rate = (r) => (r === null || r === undefined ? '—' : `${r.toFixed(1)}/s`);

function TopicTable({ title, rows }) {
  return (
    <section>
      <h3>{title}</h3>
      <table class="queues" data-kind={title}>
        <thead>
          <tr><th>name</th><th>topic</th><th class="num">partitions</th>
            <th class="num">waiting</th><th class="num">oldest</th>
            <th class="num">in</th><th class="num">out</th></tr>
        </thead>
        <tbody>
          {rows.map((t) => (
            <tr key={t.topic}>
              <td>{t.name}</td><td class="muted">{t.topic}</td>
              <td class="num">{t.partitions}</td><td class="num">{t.waiting}</td>
              <td class="num">{t.oldest_age_ms === null ? '—' : fmtDuration(t.oldest_age_ms)}</td>
              <td class="num">{rate(t.rate_in)}</td><td class="num">{rate(t.rate_out)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Overview() {
  const poll = useLive('queues', () => api('GET', '/queues'), 5000);
  const q = poll.data;
  return (
    <div>
      <div class="title"><h2>Overview</h2><Live poll={poll} /></div>
      <Problem error={poll.error} />
      {q && (
        <>
          <p class="summary">
            Running now: <strong>{q.running ?? '—'}</strong> · workers alive:{' '}
            <strong>{q.workers ? q.workers.length : '—'}</strong>
            {q.rate_span_ms > 0 && <span class="muted"> · rates over {fmtDuration(q.rate_span_ms)}</span>}
          </p>
          <TopicTable title="Bands" rows={q.topics.filter((t) => t.kind === 'band')} />
          <Outcomes />
          <TopicTable title="Delay tiers" rows={q.topics.filter((t) => t.kind === 'delay')} />
          <section>
            <h3>Workers</h3>
            {!q.workers ? <p class="muted">Redis did not answer.</p> : (
              <table>
                <thead>
                  <tr><th>id</th><th class="num">busy / runners</th>
                    <th class="num">partitions</th><th class="num">last seen</th></tr>
                </thead>
                <tbody>
                  {q.workers.map((w) => (
                    <tr key={w.id}>
                      <td>{w.id}</td><td class="num">{w.busy} / {w.runners}</td>
                      <td class="num" title={w.partitions.join(' ')}>{w.partitions.length}</td>
                      <td class="num">{fmtDuration(w.last_seen_ms_ago)} ago</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  );
}
