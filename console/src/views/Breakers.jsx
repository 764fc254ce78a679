// Breakers: every breaker Redis knows (GET /api/v1/breakers), each with its failure and slow-call rates drawn against its
// policy's thresholds (the config's `breakers:` entry the API gives), a
// timeline strip of its last hour, day or week (its transition log,
// BreakerTimeline.jsx) and, while half-open, its probes in flight of the
// policy's; a breaker picked shows its transitions with why. Operators force open / close / release, by row or by name. The
// span and the breaker picked live in the URL: /breakers?breaker=pay&span=24h,
// or a custom range of the strips (range.jsx's form; from and to, RFC 3339:
// /breakers?from=2026-12-07T10:00:00Z&to=2026-12-07T12:00:00Z, which a
// drag across a strip sets too; a range that ends after now ends now).
// A transition shows at once by the tab's event stream (its `breaker`
// event), and the list is polled every 15 s for the window counts; without
// the stream it is polled every 5 s.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { liveView, useStream } from '../live.js';
import { usePoll } from '../poll.js';
import { fmtTime, useZone } from '../time.js';
import { SPANS, Strip, TransitionList, useTransitions } from './BreakerTimeline.jsx';
import { RangeForm } from './range.jsx';
import { GaugeBar, Live, Problem, usePaging } from './common.jsx';

// the API's failure_rate is a percent already (0-100)
const pctOf = (r) => (r === undefined || r === null ? '—' : `${r.toFixed(0)}%`);

// The window's failure and slow-call rates, each a bar with a line at the
// policy's threshold; red once it would open the breaker (the threshold
// reached with min_calls calls in the window).
function Rates({ b }) {
  const p = b.policy;
  if (!p) return '—';
  const enough = p.mode === 'auto' && (b.calls ?? 0) >= p.min_calls;
  const bar = (kind, rate, threshold, what) => (
    <GaugeBar value={rate ?? 0} full={100} threshold={threshold} width={120} height={7}
      bad={enough && (rate ?? 0) >= threshold} data-rate={kind} data-value={rate ?? 0}
      data-threshold={threshold}
      label={`${what} ${pctOf(rate)} of ${b.calls ?? 0} calls; opens at ${threshold}% with ${p.min_calls} calls`} />
  );
  return (
    <>
      {bar('failure', b.failure_rate, p.failure_rate, 'failed')}
      {bar('slow', b.slow_call_rate, p.slow_call_rate, 'slow')}
    </>
  );
}

// Probes in flight while half-open: leased of the policy's half_open_calls.
function Probes({ b }) {
  if (b.state !== 'half_open' || !b.policy) return null;
  return (
    <span class="probes" data-probes-leased={b.probes_leased} data-probes-of={b.policy.half_open_calls}
      title={`${b.probes_ok} ok, ${b.probes_failed} failed; ${b.policy.half_open_successes} close it`}>
      {b.probes_leased}/{b.policy.half_open_calls} probes</span>
  );
}

const POLL_MS = 5000;        // without the stream
const LIVE_POLL_MS = 15000;  // with it: the window counts it does not carry

// A breaker's view in rows[name] unless the one there has more transitions.
const newer = (rows, b) => (rows[b.name]?.transitions > b.transitions ? rows
  : { ...rows, [b.name]: { ...b, at: Date.now() } });

// useBreakers(): the list, polled, with what the stream told since: a
// `breaker` event sets its breaker's state, when it changed and its
// transition count at once, then reads that breaker again for the rest; a
// `breaker_gap` reads them all again. Returns the poll (for <Live>: the
// stream's time while it is on) and the list, sorted by name.
function useBreakers() {
  const [told, setTold] = useState({});
  const live = useStream({
    breaker: (t) => {
      setTold((rows) => newer(rows, { ...rows[t.name], name: t.name, state: t.to, changed_ms: t.at_ms,
        transitions: t.gen }));
      api('GET', `/breakers/${encodeURIComponent(t.name)}`)
        .then((b) => setTold((rows) => newer(rows, b))).catch(() => {});
    },
    breaker_gap: () => poll.reload(),
  });
  const poll = usePoll(() => api('GET', '/breakers'), live.mode === 'live' ? LIVE_POLL_MS : POLL_MS, [live.mode]);
  const byName = {};
  for (const b of poll.data ? poll.data.breakers : []) byName[b.name] = b;
  for (const t of Object.values(told)) {
    const b = byName[t.name];
    if (!b || t.transitions > b.transitions || (t.transitions === b.transitions && t.at > poll.at)) {
      byName[t.name] = { ...b, ...t };
    }
  }
  const list = Object.values(byName).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return { poll: liveView(live, poll), list };
}

export function Breakers({ who }) {
  const zone = useZone();
  const { poll, list } = useBreakers();
  const [name, setName] = useState('');
  const [result, setResult] = useState(null);
  const operator = can(who, 'operator');
  const paging = usePaging('/breakers', ['breaker', 'span', 'from', 'to']);
  const { filters } = paging;
  const span = SPANS[filters.span] ? filters.span : '1h';
  const cf = Date.parse(filters.from), ct = Date.parse(filters.to);
  const custom = cf < ct;
  const pick = (b) => paging.go({ ...filters, breaker: b === filters.breaker ? '' : b });

  const force = async (breaker, verb) => {
    setResult(null);
    try {
      const v = await api('POST', `/breakers/${encodeURIComponent(breaker)}/${verb}`);
      setResult({ ok: `${breaker} is ${v.state}` });
      poll.reload();
    } catch (e) {
      setResult({ error: e });
    }
  };
  const logs = useTransitions(list);
  const now = poll.at || Date.now();
  const start = custom ? cf : now - SPANS[span];
  const end = custom ? Math.max(start + 1, Math.min(ct, now)) : now;
  const setRange = (from, to) => paging.go({ ...filters, from, to });
  const picked = list.find((b) => b.name === filters.breaker);
  return (
    <div>
      <div class="title"><h2>Breakers</h2><Live poll={poll} /></div>
      <Problem error={poll.error} />
      {operator && (
        <form class="filters" onSubmit={(e) => { e.preventDefault(); force(name.trim(), 'open'); }}>
          <label>Breaker{' '}
            <input id="breaker-name" value={name} placeholder="name"
              onInput={(e) => setName(e.target.value)} />
          </label>
          <button id="breaker-force-open" type="submit" disabled={!name.trim()}>Force open</button>
        </form>
      )}
      {result && (result.error ? <Problem error={result.error} /> : <p class="ok" id="breaker-result">{result.ok}</p>)}
      <p>Timeline over the last
        <span class="ranges">
          {Object.keys(SPANS).map((r) => (
            <button type="button" data-span={r} class={!custom && r === span ? 'active' : ''}
              onClick={() => paging.go({ ...filters, span: r, from: '', to: '' })}>{r}</button>
          ))}
        </span>
        <span class="muted"> · <span class="state closed">closed</span> · <span class="state half_open">half open</span>
          {' '}· <span class="state open">open</span> · grey: forced closed, disabled, metrics only</span>
      </p>
      <RangeForm from={start} to={end} zone={zone} custom={custom} zoom="a strip"
        url={`${filters.span}|${filters.from}|${filters.to}`}
        onRange={setRange} onReset={() => paging.go({ ...filters, from: '', to: '' })} />
      <p class="muted">Rates: failed calls (upper bar) and slow calls (lower) of the window, the line at the
        policy's threshold, red once they would open it; half-open: probes in flight of the policy's.</p>
      {poll.data && (
        <table class="breakers">
          <thead>
            <tr><th>name</th><th>state</th><th class="num">failure rate</th><th>against policy</th>
              <th class="num">calls</th><th class="num">failures</th><th>changed</th>
              <th>open until</th><th>{custom ? 'range' : `last ${span}`}</th>{operator && <th>force</th>}</tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.name} data-breaker={b.name} class={b.name === filters.breaker ? 'selected' : ''}>
                <td><button class="link" onClick={() => pick(b.name)}>{b.name}</button></td>
                <td><span class={`state ${b.state}`}>{b.state.replace('_', ' ')}</span></td>
                <td class="num">{pctOf(b.failure_rate)}</td>
                <td class="rates"><Rates b={b} /></td>
                <td class="num">{b.calls ?? '—'}</td><td class="num">{b.failures ?? '—'}</td>
                <td>{fmtTime(b.changed_ms, zone)}</td>
                <td>{b.open_until_ms ? fmtTime(b.open_until_ms, zone) : '—'}</td>
                <td><Strip name={b.name} list={logs[b.name]} state={b.state} start={start} end={end}
                  zone={zone} onClick={() => pick(b.name)} onZoom={setRange} /><Probes b={b} /></td>
                {operator && (
                  <td class="row-actions">
                    {['open', 'close', 'release'].map((verb) => (
                      <button onClick={() => force(b.name, verb)}>{verb}</button>
                    ))}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {poll.data && !list.length && <p class="muted">No breaker has seen a call yet.</p>}
      {picked && <TransitionList name={picked.name} list={logs[picked.name]} zone={zone} />}
    </div>
  );
}
