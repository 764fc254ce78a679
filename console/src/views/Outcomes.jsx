// The Overview's outcomes per band: tasks per second that succeeded,
// failed attempts that were retried and tasks that died, over the last
// RATE_MIN minutes, and stacked bars of each minute of the last SPAN_MIN
// (GET /api/v1/history?band=B&since=30m, the workers' per-minute counters;
// polled every 30 s while the tab is shown). The API gives failed
// attempts and dead tasks: a dead task's last attempt failed too, so the
// retried ones are failed - dead (a task dead before any attempt, such as
// one of no known handler, makes that lower by one). Skipped (their
// idempotency key done before, or an operator) and cancelled tasks come
// as counts of their own.
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { useZone } from '../time.js';
import { Bars } from './chart.jsx';
import { Live, Problem } from './common.jsx';

const BANDS = ['high', 'normal', 'low'];
const SPAN_MIN = 30, RATE_MIN = 5, POLL_MS = 30000;
const OUTCOMES = [
  { key: 'succeeded', name: 'succeeded', cls: 'ok' },
  { key: 'retried', name: 'retried', cls: 'warn' },
  { key: 'dead', name: 'dead', cls: 'bad' },
  { key: 'skipped', name: 'skipped', cls: 'skip' },
  { key: 'cancelled', name: 'cancelled', cls: 'cancel' },
];

const outcomes = (p) => ({
  succeeded: p.succeeded, retried: Math.max(0, p.failed - p.dead), dead: p.dead,
  skipped: p.skipped || 0, cancelled: p.cancelled || 0,
});

// {succeeded, retried, dead, skipped, cancelled} per second over the newest RATE_MIN points
// (the newest is the minute going on: up to the answer's until_ms), and
// the counts
function rates(h) {
  const last = h.points.slice(-RATE_MIN).map(outcomes);
  const first = h.points[Math.max(0, h.points.length - RATE_MIN)];
  const secs = first ? Math.max(1, (h.until_ms - first.t) / 1000) : 0;
  const out = {};
  for (const { key } of OUTCOMES) {
    const n = last.reduce((sum, o) => sum + o[key], 0);
    out[key] = { n, per_s: secs ? n / secs : 0 };
  }
  return { ...out, secs };
}

const perS = (r) => (r.per_s >= 10 ? r.per_s.toFixed(0) : r.per_s >= 0.1 ? r.per_s.toFixed(2) : r.per_s.toFixed(3));

export function Outcomes() {
  const zone = useZone();
  const poll = usePoll(() => Promise.all(BANDS.map((band) =>
    api('GET', '/history', { band, since: `${SPAN_MIN}m` }))), POLL_MS);
  return (
    <section id="outcomes">
      <div class="title"><h3>Outcomes per band</h3><Live poll={poll} report={false} /></div>
      <Problem error={poll.error} />
      {poll.data && (
        <table class="outcomes">
          <thead>
            <tr><th>band</th>
              {OUTCOMES.map((o) => <th class="num"><span class={`key ${o.cls}`}>{o.name}</span>/s</th>)}
              <th>last {SPAN_MIN} min, per minute</th></tr>
          </thead>
          <tbody>
            {poll.data.map((h, i) => {
              const r = rates(h);
              const pts = h.points.map(outcomes);
              return (
                <tr key={BANDS[i]} data-band={BANDS[i]}>
                  <td>{BANDS[i]}</td>
                  {OUTCOMES.map((o) => (
                    <td class="num" data-outcome={o.key} data-count={r[o.key].n} data-per-s={r[o.key].per_s}
                      title={`${r[o.key].n} ${o.name} in the last ${Math.round(r.secs)} s`}>{perS(r[o.key])}</td>
                  ))}
                  <td><Bars id={`outcomes-${BANDS[i]}`} ts={h.points.map((p) => p.t)} step={h.step_ms}
                    from={Math.min(h.since_ms, h.points[0]?.t ?? h.since_ms)} to={h.until_ms} zone={zone}
                    series={OUTCOMES.map((o) => ({ name: o.name, cls: o.cls, values: pts.map((p) => p[o.key]) }))} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <p class="muted">Over the last {RATE_MIN} minutes, from the workers' per-minute counts; retried: failed
        attempts that were retried (failed attempts less the tasks that died); skipped: an idempotency key
        done before, or an operator's skip.</p>
    </section>
  );
}
