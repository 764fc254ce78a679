// Breakers: every breaker Redis knows (GET /api/v1/breakers), polled every
// 5 s, with force open / close / release for operators, by row or by name.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { fmtTime, useZone } from '../time.js';
import { Live, Problem } from './common.jsx';

const pctOf = (r) => (r === undefined || r === null ? '—' : `${(100 * r).toFixed(0)}%`);

export function Breakers({ who }) {
  const zone = useZone();
  const poll = usePoll(() => api('GET', '/breakers'), 5000);
  const [name, setName] = useState('');
  const [result, setResult] = useState(null);
  const operator = can(who, 'operator');

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
  const list = poll.data ? poll.data.breakers : [];
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
      {poll.data && (
        <table class="breakers">
          <thead>
            <tr><th>name</th><th>state</th><th class="num">failure rate</th>
              <th class="num">calls</th><th class="num">failures</th><th>changed</th>
              <th>open until</th>{operator && <th>force</th>}</tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.name} data-breaker={b.name}>
                <td>{b.name}</td>
                <td><span class={`state ${b.state}`}>{b.state.replace('_', ' ')}</span></td>
                <td class="num">{pctOf(b.failure_rate)}</td>
                <td class="num">{b.calls ?? '—'}</td><td class="num">{b.failures ?? '—'}</td>
                <td>{fmtTime(b.changed_ms, zone)}</td>
                <td>{b.open_until_ms ? fmtTime(b.open_until_ms, zone) : '—'}</td>
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
    </div>
  );
}
