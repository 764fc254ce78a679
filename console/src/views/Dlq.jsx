// Dead letters (/dlq): the depth gauge and trend (DlqDepth.jsx), the
// DLQ's counts by reason and handler (GET /api/v1/dlq/stats), one page of
// entries at a time (GET /api/v1/dlq, the API's cursors), filtered as the
// API filters; anyone exports the current filter as NDJSON
// (DlqExport.jsx); operators resubmit it, patched or with a new priority
// or attempts if they like, a dry run first (POST /api/v1/dlq/resubmit),
// or start a durable job of it (POST /api/v1/dlq/jobs, DlqJobs.jsx), or
// discard it as a job (<Discard>). An entry shows what became of it (its
// mark: resubmitted, or discarded); <Discard> discards entries, a filter
// or a group, a dry run first (POST /api/v1/dlq/discard).
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { Link, navigate } from '../router.jsx';
import { fmtTime, useZone } from '../time.js';
import { ListHead, PagedTable, Problem, Result, useAction, usePagedList } from './common.jsx';
import { DlqDepth } from './DlqDepth.jsx';
import { DlqExport } from './DlqExport.jsx';
import { JobStart } from './DlqJobs.jsx';
import { NO_OPTIONS, TaskOptions, optionsBody, optionsSummary } from './TaskOptions.jsx';

export const REASONS = ['permanent_failure', 'attempts_exhausted', 'deadline_exceeded',
  'undecodable', 'handler_unknown', 'skipped'];
// group: a failure group's entries (a link from /dlq/groups/ID; no field)
const KEYS = ['handler', 'reason', 'schedule', 'label', 'since', 'until', 'grep', 'group'];
const FIELDS = [
  { key: 'handler', label: 'Handler', size: 10 },
  { key: 'reason', label: 'Reason', options: REASONS },
  { key: 'schedule', label: 'Schedule', size: 10 },
  { key: 'label', label: 'Label', placeholder: 'KEY=VALUE', size: 10 },
  { key: 'since', label: 'Since', placeholder: '24h or RFC 3339', size: 12 },
  { key: 'until', label: 'Until', placeholder: 'RFC 3339', size: 12 },
  { key: 'grep', label: 'Error text', size: 12 },
];

const lastError = (e) => {
  const f = e.failures || (e.task && e.task.failures) || [];
  return f.length ? f[f.length - 1] : null;
};
const counts = (o) => Object.entries(o || {}).sort((a, b) => b[1] - a[1])
  .map(([k, n]) => `${k} ${n}`).join(' · ') || '—';

// <Resubmit body={{ids} or {filter}} />: the options (payload patches,
// priority, attempts, force; TaskOptions.jsx), a dry run of them first
// with its exact count, then on confirm the real call with the same body.
export function Resubmit({ body, what, onDone }) {
  const [opts, setOpts] = useState(NO_OPTIONS);
  const [dry, setDry] = useState(null);
  const [result, run] = useAction(null);
  const check = () => run(async () => {
    setDry(null);
    const sent = { ...body, ...optionsBody(opts) };
    setDry({ sent, answer: await api('POST', '/dlq/resubmit', null, { ...sent, dry_run: true }) });
    return '';
  });
  const confirm = () => run(async () => {
    const r = await api('POST', '/dlq/resubmit', null, dry.sent);
    setDry(null);
    if (onDone) onDone(r);
    return `Resubmitted ${r.resubmitted} of ${r.matched} matched` +
      (r.already_resubmitted ? `, ${r.already_resubmitted} already resubmitted` : '') +
      (r.failed ? `, ${r.failed} failed` : '') +
      (r.entries && r.entries.length === 1 ? `: new task ${r.entries[0].task_id}` : '') + '.';
  });
  const d = dry && dry.answer;
  return (
    <div class="resubmit">
      <details class="options">
        <summary>Options: payload patches, priority, attempts, force</summary>
        <TaskOptions id="resubmit" value={opts} onChange={setOpts} extra={['reset', 'force']} disabled={!!dry} />
      </details>
      <div class="actions">
        {!dry && <button id="resubmit-dry" onClick={check}>Resubmit {what}…</button>}
        {dry && (
          <>
            <span id="resubmit-count" data-count={d.resubmitted}>
              Dry run: <strong>{d.resubmitted}</strong> {d.resubmitted === 1 ? 'entry' : 'entries'} would
              be resubmitted ({d.matched} matched, {d.already_resubmitted} already resubmitted
              {d.undecodable ? `, ${d.undecodable} undecodable` : ''}{d.failed ? `, ${d.failed} would fail` : ''}
              {d.max_reached ? ', stopped at the maximum' : ''}); options: <span id="resubmit-options">{optionsSummary(opts)}</span>.
            </span>
            <button id="resubmit-confirm" disabled={!d.resubmitted} onClick={confirm}>
              Resubmit {d.resubmitted}</button>
            <button class="link" onClick={() => setDry(null)}>Cancel</button>
          </>
        )}
      </div>
      {result && result.ok !== '' && <Result result={result} id="resubmit-result" />}
    </div>
  );
}

// <Discard body={{ids} or {group} or {filter}} what="this entry"
// label="Discard" />: "these need nothing". A dry run's exact count first,
// then on confirm the same body: ids are discarded at once (onDone), a
// group or a filter becomes a discard job, whose page follows.
export function Discard({ body, what, label, onDone }) {
  const [dry, setDry] = useState(null);
  const [result, run] = useAction(null);
  const check = () => run(async () => {
    setDry(null);
    setDry(await api('POST', '/dlq/discard', null, { ...body, dry_run: true }));
    return '';
  });
  const confirm = () => run(async () => {
    const r = await api('POST', '/dlq/discard', null, body);
    setDry(null);
    if (r.kind === 'discard' && r.state) {  // a job: its page
      navigate(`/dlq/jobs/${encodeURIComponent(r.id)}`);
      return '';
    }
    if (onDone) onDone(r);
    return `Discarded ${r.discarded} of ${r.matched} matched` +
      (r.already_resubmitted ? `, ${r.already_resubmitted} already resubmitted` : '') +
      (r.already_discarded ? `, ${r.already_discarded} already discarded` : '') + '.';
  });
  return (
    <div class="discard">
      <div class="actions">
        {!dry && <button id="discard-dry" class="danger" onClick={check}>{label || `Discard ${what}`}…</button>}
        {dry && (
          <>
            <span id="discard-count" data-count={dry.count}>
              Dry run: <strong>{dry.count}</strong> {dry.count === 1 ? 'entry' : 'entries'} would
              be discarded ({dry.matched} matched, {dry.already_resubmitted} already resubmitted,
              {' '}{dry.already_discarded} already discarded{dry.undecodable ? `, ${dry.undecodable} undecodable` : ''});
              no later resubmission takes {dry.count === 1 ? 'it' : 'them'} unless forced.
            </span>
            <button id="discard-confirm" class="danger" disabled={!dry.count} onClick={confirm}>
              Discard {dry.count}</button>
            <button class="link" onClick={() => setDry(null)}>Cancel</button>
          </>
        )}
      </div>
      {result && result.ok !== '' && <Result result={result} id="discard-result" />}
    </div>
  );
}

// What became of entry e, from its mark: "discarded", "resubmitted", ""
// (neither) or null (not known: Redis could not be read).
export const fate = (e) => (e.discarded === undefined ? null
  : e.discarded ? 'discarded' : e.resubmitted_as ? 'resubmitted' : '');

export function Dlq({ who }) {
  const zone = useZone();
  const { paging, poll, page } = usePagedList('/dlq', KEYS);
  const { filters } = paging;
  const filter = Object.fromEntries(KEYS.filter((k) => filters[k]).map((k) => [k, filters[k]]));
  const stats = usePoll(() => api('GET', '/dlq/stats', filter), 15000, KEYS.map((k) => filters[k]));
  const s = stats.data;
  return (
    <div>
      <p><strong>Dead letters</strong> · <Link href="/dlq/groups" id="failures-tab">Failures</Link>
        {filters.group && <> · group <Link href={`/dlq/groups/${filters.group}`} class="mono">{filters.group}</Link></>}</p>
      <DlqDepth />
      <ListHead title="Dead letters" poll={poll} paging={paging} fields={FIELDS} />
      <Problem error={stats.error} />
      {s && (
        <dl class="facts dlq-stats">
          <dt>entries{Object.keys(filter).length ? ' (this filter)' : ''}</dt>
          <dd><strong id="dlq-count">{s.count}</strong>
            {s.resubmitted !== null && s.resubmitted !== undefined && <span class="muted"> · {s.resubmitted} resubmitted</span>}
            {s.discarded !== null && s.discarded !== undefined && <span class="muted" id="dlq-discarded"> · {s.discarded} discarded</span>}
            {s.undecodable_entries ? <span class="muted"> · {s.undecodable_entries} undecodable</span> : null}</dd>
          <dt>oldest · newest</dt>
          <dd>{s.oldest ? fmtTime(s.oldest.dead_ms, zone) : '—'} · {s.newest ? fmtTime(s.newest.dead_ms, zone) : '—'}</dd>
          <dt>by reason</dt><dd id="dlq-by-reason">{counts(s.by_reason)}</dd>
          <dt>by handler</dt><dd id="dlq-by-handler">{counts(s.by_handler)}</dd>
        </dl>
      )}
      <DlqExport key={`export${JSON.stringify(filter)}`} filter={filter}
        what={Object.keys(filter).length ? 'this filter' : 'every entry'} />
      {can(who, 'operator') && (
        <Resubmit key={JSON.stringify(filter)} body={{ filter }}
          what={Object.keys(filter).length ? 'this filter' : 'every entry'}
          onDone={() => { poll.reload(); stats.reload(); }} />
      )}
      {can(who, 'operator') && (
        <JobStart key={`job${JSON.stringify(filter)}`} body={{ filter }} label="Resubmit as a job" />
      )}
      {can(who, 'operator') && (
        <Discard key={`discard${JSON.stringify(filter)}`} body={{ filter }}
          what={Object.keys(filter).length ? 'this filter' : 'every entry'} />
      )}
      {page && (
        <>
          <PagedTable name="dlq" paging={paging} page={page} rows={page.entries} noun="entries"
            head={<><th>dead letter</th><th>dead</th><th>reason</th><th>handler</th>
              <th class="num">attempt</th><th>last error</th></>}
            row={(e) => {
              const f = lastError(e);
              return (
                <tr key={e.id} data-dlq={e.id} data-fate={fate(e) ?? undefined}>
                  <td><Link href={`/dlq/${encodeURIComponent(e.id)}`} class="mono">{e.id}</Link>
                    {fate(e) && <span class={`fate ${fate(e)}`}> {fate(e)}</span>}</td>
                  <td>{fmtTime(e.dead_ms, zone)}</td>
                  <td>{e.reason}</td><td>{e.task ? e.task.handler : '—'}</td>
                  <td class="num">{e.task ? e.task.attempt : '—'}</td>
                  <td class="err">{f ? `${f.failure_class}: ${f.message || ''}` : e.detail}</td>
                </tr>
              );
            }}
          >
            {page.entries.length} shown · {page.scanned} scanned</PagedTable>
        </>
      )}
    </div>
  );
}
