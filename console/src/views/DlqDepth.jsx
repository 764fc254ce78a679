// The DLQ's depth on the DLQ page (GET /api/v1/dlq/depth): a gauge of the
// newest sample against coordinator.dlq_depth_alert when it is set, and
// the trend over 1 h to 14 days (the leading coordinator samples it every
// coordinator.dlq_depth_interval; a step shows its last sample and its
// highest). Polled every 15 s; the gauge also follows the tab's event
// stream, whose `dlq` event brings the newest sample when the depth
// changes.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useStream } from '../live.js';
import { usePoll } from '../poll.js';
import { fmtTime, useZone } from '../time.js';
import { Chart } from './chart.jsx';
import { GaugeBar, Problem } from './common.jsx';

const RANGES = ['1h', '24h', '7d', '14d'];

function Gauge({ current, threshold, zone }) {
  if (!current) {
    return <p class="muted" id="dlq-gauge">No depth sample yet (the leading coordinator writes one a
      minute, or every coordinator.dlq_depth_interval).</p>;
  }
  const { depth } = current;
  const full = threshold ? Math.max(threshold * 1.25, depth) : Math.max(depth, 1);
  const over = threshold && depth >= threshold;
  return (
    <p class="gauge" id="dlq-gauge" data-depth={depth} data-threshold={threshold ?? ''}>
      Depth <strong id="dlq-depth">{depth}</strong>{' '}
      <GaugeBar value={depth} full={full} threshold={threshold || null} label={`depth ${depth}`} />{' '}
      <span class="muted">
        {threshold ? `alert at ${threshold}${over ? ' — over it' : ''}` : 'no alert threshold (coordinator.dlq_depth_alert)'}
        {' '}· sampled {fmtTime(current.at_ms, zone)}</span>
    </p>
  );
}

export function DlqDepth() {
  const zone = useZone();
  const [range, setRange] = useState('24h');
  const poll = usePoll(() => api('GET', '/dlq/depth', { since: range }), 15000, [range]);
  const [pushed, setPushed] = useState(null);
  useStream({ dlq: setPushed });
  const d = poll.data;
  // the newer of the poll's sample and the stream's
  const current = pushed && (!d?.current || pushed.at_ms >= d.current.at_ms) ? pushed : d?.current;
  const pts = d ? d.points : [];
  return (
    <div class="dlq-depth">
      <Problem error={poll.error} />
      {d && <Gauge current={current} threshold={d.threshold} zone={zone} />}
      {d && (
        <>
          <span class="ranges">
            {RANGES.map((r) => (
              <button type="button" data-depth-range={r} class={r === range ? 'active' : ''}
                onClick={() => setRange(r)}>{r}</button>
            ))}
          </span>
          <Chart id="chart-dlq-depth" title="DLQ depth" zone={zone}
            unit={`dead letters · step ${d.step_ms / 60000} min, sampled every ${d.interval_ms / 1000} s`}
            ts={pts.map((p) => p.t)} from={d.since_ms} to={d.until_ms} markers={[]}
            limit={d.threshold ? { value: d.threshold, label: 'alert' } : null}
            series={[{ name: 'depth', cls: 's0', values: pts.map((p) => p.depth) },
              { name: 'highest', cls: 's1', values: pts.map((p) => p.max) }]} />
        </>
      )}
    </div>
  );
}
