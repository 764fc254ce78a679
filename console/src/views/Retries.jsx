// Retries (/retries): per handler, how many attempts finished tasks took
// (a bar per attempt number: succeeded on it, or dead after it), the share
// that succeeded within n attempts, failed attempts by class and how late
// retries started (GET /api/v1/retries/analytics), polled every 30 s.
// The handler and time range live in the URL: /retries?handler=billing&since=7d.
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { Live, Problem, Filters, usePaging } from './common.jsx';

const KEYS = ['handler', 'since', 'until'];
const FIELDS = [
  { key: 'handler', label: 'Handler', placeholder: 'all', size: 12 },
  { key: 'since', label: 'Since', placeholder: '24h or RFC 3339', size: 12 },
  { key: 'until', label: 'Until', placeholder: 'now', size: 12 },
];
const pct = (r) => `${(100 * r).toFixed(0)}%`;

// An SVG bar chart of the attempts: for each attempt number, the tasks
// that succeeded on it (up) and those dead after it (down, red).
function AttemptChart({ h }) {
  const keys = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9+'];
  const ok = keys.map((k) => h.succeeded_by_attempt[k] || 0);
  const dead = keys.map((k) => h.dead_by_attempt[k] || 0);
  const max = Math.max(1, ...ok, ...dead);
  const W = 28, H = 60, top = 14;
  return (
    <svg class="attempts" width={keys.length * W} height={top + 2 * H + 16}
      role="img" aria-label={`attempts of ${h.handler}`}>
      <line x1="0" x2={keys.length * W} y1={top + H} y2={top + H} class="axis" />
      {keys.map((k, i) => {
        const up = (ok[i] / max) * H, down = (dead[i] / max) * H;
        return (
          <g key={k} data-attempt={k}>
            {ok[i] > 0 && <rect class="ok" x={i * W + 4} y={top + H - up} width={W - 8} height={up}>
              <title>{`${ok[i]} succeeded on attempt ${k}`}</title></rect>}
            {ok[i] > 0 && <text x={i * W + W / 2} y={top + H - up - 2}>{ok[i]}</text>}
            {dead[i] > 0 && <rect class="dead" x={i * W + 4} y={top + H} width={W - 8} height={down}>
              <title>{`${dead[i]} dead after ${k} attempts`}</title></rect>}
            {dead[i] > 0 && <text x={i * W + W / 2} y={top + H + down + 10}>{dead[i]}</text>}
            <text class="muted" x={i * W + W / 2} y={top + 2 * H + 14}>{k}</text>
          </g>
        );
      })}
    </svg>
  );
}

function Handler({ h }) {
  // success within n: up to the last attempt number anything finished on
  const all = Object.entries(h.success_within);
  const last = Math.max(0, ...all.map(([k], i) =>
    (h.succeeded_by_attempt[k] || h.dead_by_attempt[k] ? i : 0)));
  const within = all.slice(0, last + 1);
  return (
    <section class="retry-handler" data-handler={h.handler}>
      <h3>{h.handler}</h3>
      <p>
        <span data-count="finished">{h.finished}</span> finished:{' '}
        <span class="ok" data-count="succeeded">{h.succeeded}</span> succeeded,{' '}
        <span class="error" data-count="dead">{h.dead}</span> dead · {h.attempts} attempts
        {h.skipped > 0 && ` · ${h.skipped} skipped`}{h.cancelled > 0 && ` · ${h.cancelled} cancelled`}
      </p>
      <div class="retry-grid">
        <div>
          <AttemptChart h={h} />
          <p class="muted">attempt number: succeeded on it (up), dead after it (down)</p>
        </div>
        <table class="within">
          <thead><tr><th>within</th><th class="num">succeeded</th></tr></thead>
          <tbody>
            {within.map(([n, r]) => (
              <tr key={n}><td>{n} attempt{n === '1' ? '' : 's'}</td>
                <td class="num">{h.finished ? pct(r) : '—'}</td></tr>
            ))}
          </tbody>
        </table>
        <table class="failures">
          <thead><tr><th>failed attempts</th><th class="num">count</th></tr></thead>
          <tbody>
            {Object.entries(h.failures).map(([c, n]) => (
              <tr key={c} data-class={c}><td>{c}</td><td class="num">{n}</td></tr>
            ))}
          </tbody>
        </table>
        <table class="lateness">
          <thead><tr><th>ms</th><th class="num">n</th><th class="num">mean</th>
            <th class="num">p50 ≤</th><th class="num">p95 ≤</th></tr></thead>
          <tbody>
            {[['retry lateness', h.lateness_ms], ['duration', h.duration_ms]].map(([name, d]) => (
              <tr key={name}><td>{name}</td><td class="num">{d.count}</td>
                <td class="num">{d.mean}</td><td class="num">{d.p50}</td><td class="num">{d.p95}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function Retries() {
  const paging = usePaging('/retries', KEYS);
  const { filters } = paging;
  const poll = usePoll(() => api('GET', '/retries/analytics', filters), 30000,
    KEYS.map((k) => filters[k]));
  const list = poll.data ? poll.data.handlers : [];
  return (
    <div>
      <div class="title"><h2>Retries</h2><Live poll={poll} /></div>
      <Filters paging={paging} fields={FIELDS} />
      <Problem error={poll.error} />
      {list.map((h) => <Handler key={h.handler} h={h} />)}
      {poll.data && !list.length && <p class="muted">No handlers in the config.</p>}
    </div>
  );
}
