// Schedule timeline (/schedules/timeline): a Gantt of the schedules of one
// page (GET /api/v1/schedules/timeline, paged by its cursor, every 10 s):
// one row per schedule, x = time over the chosen range (1h, 6h, 24h, 7d;
// in the URL with the cursor: /schedules/timeline?range=6h), or a custom
// one (range.jsx: ?from=…&to=…, RFC 3339), which a drag across the chart
// sets (zoom) and Reset or a preset clears; each fire a
// bar from its publish to its run's end (at least 3 px), coloured by
// outcome (succeeded, dead, running or unknown); skipped and buffered
// fires and catch-ups after a leader gap are distinct markers; the next
// fire time is a dashed tick past "now". Plain SVG, <title> tooltips; a
// click on a fire's bar opens its task (one handler on the chart, so a
// page of 20 x 500 fires stays a light DOM).
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { Link, navigate } from '../router.jsx';
import { fmtDuration, fmtTime, useZone } from '../time.js';
import { Live, Pager, Problem, usePaging } from './common.jsx';
import { RangeForm, useZoom } from './range.jsx';

const RANGES = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3 };
const W = 960, LABEL = 170, ROW = 24, TOP = 18, MIN_W = 3;
// schedules per page: 20 rows of up to 500 fires render within a second
const PAGE = 20;

const taskPath = (id) => `/tasks/${encodeURIComponent(id)}`;

function tip(f, zone) {
  const parts = [`${f.kind} · for ${fmtTime(f.scheduled_ms, zone)}`];
  if (f.published_ms) parts.push(`published ${fmtTime(f.published_ms, zone)}`);
  if (f.finished_ms) parts.push(`${f.outcome} ${fmtTime(f.finished_ms, zone)} after ${fmtDuration(f.duration_ms)}`);
  else if (f.outcome) parts.push(f.outcome);
  if (f.task_id) parts.push(`task ${f.task_id}`);
  return parts.join('\n');
}

// One fire: a bar (published) or a marker (skipped, buffered).
function Fire({ f, x, y, now, zone }) {
  const title = <title>{tip(f, zone)}</title>;
  const cy = y + ROW / 2;
  if (f.kind === 'skipped_overlap' || f.kind === 'buffered') {
    const cx = x(f.scheduled_ms);
    return (
      <g class={`gantt-mark ${f.kind}`} data-kind={f.kind}>
        {f.kind === 'buffered'
          ? <circle cx={cx} cy={cy} r="3.5" />
          : <path d={`M${cx - 3.5},${cy - 3.5}L${cx + 3.5},${cy + 3.5}M${cx + 3.5},${cy - 3.5}L${cx - 3.5},${cy + 3.5}`} />}
        {title}
      </g>
    );
  }
  const start = f.published_ms || f.scheduled_ms;
  const end = f.finished_ms || (f.outcome === 'running' ? now : start);
  const x0 = x(start);
  const bar = (
    <rect class={`gantt-bar ${f.outcome || 'running'}`} data-outcome={f.outcome || 'running'}
      data-kind={f.kind} data-task={f.task_id || ''} x={x0} y={y + 5}
      width={Math.max(MIN_W, x(end) - x0)} height={ROW - 10}>{title}</rect>
  );
  return (
    <g>
      {bar}
      {f.kind === 'caught_up' && <path class="gantt-mark caught_up" data-kind="caught_up"
        d={`M${x0 - 4},${y + 1}L${x0 + 4},${y + 1}L${x0},${y + 6}Z`}>{title}</path>}
      {f.kind === 'manual' && <path class="gantt-mark manual" d={`M${x0},${y + 1}L${x0},${y + ROW - 1}`} />}
    </g>
  );
}

function Legend() {
  const item = (cls, label, shape) => (
    <g class="legend-item" data-legend={cls}>{shape}<text x="14" y="10">{label}</text></g>
  );
  const items = [
    item('succeeded', 'succeeded', <rect class="gantt-bar succeeded" width="10" height="10" />),
    item('dead', 'dead', <rect class="gantt-bar dead" width="10" height="10" />),
    item('running', 'running / unknown', <rect class="gantt-bar running" width="10" height="10" />),
    item('skipped_overlap', 'skipped (overlap)', <path class="gantt-mark skipped_overlap" d="M1,1L9,9M9,1L1,9" />),
    item('buffered', 'buffered', <circle class="gantt-mark buffered" cx="5" cy="5" r="3.5" />),
    item('caught_up', 'caught up late', <path class="gantt-mark caught_up" d="M1,1L9,1L5,7Z" />),
    item('next', 'next fire', <line class="gantt-next" x1="5" x2="5" y1="0" y2="10" />),
  ];
  return (
    <svg id="gantt-legend" width={W} height="16">
      {items.map((it, i) => <g transform={`translate(${i * 135},2)`}>{it}</g>)}
    </svg>
  );
}

export function ScheduleTimeline() {
  const zone = useZone();
  const paging = usePaging('/schedules/timeline', ['range', 'from', 'to']);
  const { filters } = paging;
  const range = RANGES[filters.range] ? filters.range : '1h';
  const custom = !!(filters.from || filters.to);
  const poll = usePoll(() => api('GET', '/schedules/timeline', {
    since: custom ? filters.from : range, until: custom ? filters.to : '', limit: PAGE, cursor: paging.cursor,
  }), 10000, [range, filters.from, filters.to, paging.cursor]);
  const d = poll.data;
  const rows = d ? d.schedules : [];
  const from = d ? d.since_ms : 0, now = d ? d.until_ms : 0;
  // a range that ends now has room for the next fires; a custom one
  // that ends in the past does not
  const to = custom && now < (poll.at || Date.now()) - 60000 ? now : now + (now - from) * 0.06;
  const span = W - LABEL - 6;
  const x = (t) => LABEL + ((Math.min(Math.max(t, from), to) - from) / Math.max(1, to - from)) * span;
  const setRange = (f, t) => paging.go({ range: filters.range, from: f, to: t });
  // zoom: up to "now" at most (the API reads fires up to until)
  const zoom = useZoom((px) => Math.min(now, from + ((Math.min(Math.max(px, LABEL), W - 6) - LABEL) / span) * (to - from)),
    setRange, 10000);
  const H = TOP + rows.length * ROW + 4;
  return (
    <div>
      <div class="title"><h2>Schedule timeline</h2><Live poll={poll} /></div>
      <p><Link href="/schedules">← schedules</Link></p>
      <div class="filters">
        <span class="ranges">
          {Object.keys(RANGES).map((r) => (
            <button type="button" data-range={r} class={!custom && r === range ? 'active' : ''}
              onClick={() => paging.go({ range: r })}>{r}</button>
          ))}
        </span>
      </div>
      <RangeForm from={d && d.since_ms} to={d && d.until_ms} zone={zone} custom={custom} zoom
        url={`${filters.range}|${filters.from}|${filters.to}`}
        onRange={setRange} onReset={() => paging.go({ range: filters.range })} />
      <Problem error={poll.error} />
      {d && (
        <>
          <Legend />
          <svg id="gantt" class="gantt zoomable" width={W} height={H} role="img" aria-label="schedule fires over time"
            data-from={from} data-to={now} {...zoom.handlers}
            onClick={(e) => {   // one handler for every bar: a bar opens its task
              if (zoom.dragged()) return;   // the end of a drag opens nothing
              const t = e.target.closest && e.target.closest('rect[data-task]');
              if (t && t.dataset.task) navigate(taskPath(t.dataset.task));
            }}>
            <text class="muted" x={LABEL} y="12">{fmtTime(from, zone)}</text>
            <text class="muted" x={x(now)} y="12" text-anchor="end">{to > now ? 'now' : fmtTime(now, zone)}</text>
            <line class="gantt-now" x1={x(now)} x2={x(now)} y1={TOP} y2={H} />
            {zoom.sel && <rect class="zoom-sel" x={zoom.sel.x} y={TOP} width={zoom.sel.w} height={H - TOP} />}
            {rows.map((s, i) => {
              const y = TOP + i * ROW;
              return (
                <g class="gantt-row" data-schedule={s.id}>
                  <rect class="gantt-lane" x={LABEL} y={y} width={W - LABEL - 6} height={ROW} />
                  <a href={`/schedules/${encodeURIComponent(s.id)}`}
                    onClick={(e) => { e.preventDefault(); navigate(`/schedules/${encodeURIComponent(s.id)}`); }}>
                    <text x="4" y={y + 16} class={s.enabled ? '' : 'muted'}>{s.id.length > 22 ? s.id.slice(0, 21) + '…' : s.id}
                      <title>{`${s.id}${s.enabled ? '' : ' (disabled)'} · ${s.fires.length} fires${s.truncated ? ' (newest 500)' : ''}`}</title></text>
                  </a>
                  {s.fires.map((f) => <Fire f={f} x={x} y={y} now={now} zone={zone} />)}
                  {s.enabled && s.next_ms && (
                    <line class="gantt-next" data-next={s.next_ms} x1={x(s.next_ms)} x2={x(s.next_ms)} y1={y + 2} y2={y + ROW - 2}>
                      <title>{`next fire ${fmtTime(s.next_ms, zone)}`}</title>
                    </line>
                  )}
                </g>
              );
            })}
          </svg>
          <Pager paging={paging} next={d.next_cursor}>{rows.length} schedules</Pager>
        </>
      )}
      {d && !rows.length && <p class="muted">No schedules.</p>}
    </div>
  );
}
