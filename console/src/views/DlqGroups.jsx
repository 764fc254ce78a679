// Failures (/dlq/groups): dead letters grouped by handler, error class and
// normalised message, with counts, first / last seen and sample dead
// letters (GET /api/v1/dlq/groups, the API's cursors, from the index the
// workers keep in Redis); one group (/dlq/groups/ID) with all its samples
// and, for operators, "Retry group": a durable resubmission job of the
// whole group, its dry-run count first (POST /api/v1/dlq/jobs {"group"};
// the job's page follows its progress), and "Discard group" beside it: a
// discard job of the group the same way (POST /api/v1/dlq/discard
// {"group"}). Each sample says what became of it.
import { api, can } from '../api.js';
import { usePoll } from '../poll.js';
import { Link } from '../router.jsx';
import { fmtTime, useZone } from '../time.js';
import { ListHead, Live, PagedTable, Problem, usePagedList } from './common.jsx';
import { Discard } from './Dlq.jsx';
import { JobStart } from './DlqJobs.jsx';

const KEYS = ['handler', 'class'];
const FIELDS = [
  { key: 'handler', label: 'Handler', size: 10 },
  { key: 'class', label: 'Class', options: ['transient', 'permanent', 'timeout', 'crashed',
    'throttled', 'undecodable', 'handler_unknown', 'skipped'] },
];

const groupHref = (id) => `/dlq/groups/${encodeURIComponent(id)}`;
const entryHref = (id) => `/dlq/${encodeURIComponent(id)}`;

// The sample dead letters of a group, each a link to its entry.
function Samples({ samples }) {
  if (!samples || !samples.length) return '—';
  return samples.map((s, i) => (
    <>{i ? ' ' : ''}<Link href={entryHref(s.id)} class="mono sample" title={`task ${s.task_id}`}>
      {s.id.slice(-6)}</Link></>
  ));
}

export function DlqGroups() {
  const zone = useZone();
  const { paging, poll, page } = usePagedList('/dlq/groups', KEYS);
  return (
    <div>
      <p><Link href="/dlq">Dead letters</Link> · <strong>Failures</strong> · <Link href="/dlq/jobs">Jobs</Link></p>
      <ListHead title="Failures" poll={poll} paging={paging} fields={FIELDS} />
      {page && (
        <PagedTable name="groups" paging={paging} page={page} rows={page.groups} noun="failure groups"
          head={<><th class="num">count</th><th>handler</th><th>class</th><th>message</th>
            <th>first seen</th><th>last seen</th><th>latest</th></>}
          row={(g) => (
            <tr key={g.id} data-group={g.id}>
              <td class="num"><Link href={groupHref(g.id)} class="count">{g.count}</Link></td>
              <td>{g.handler || '—'}</td><td>{g.class}</td>
              <td class="err" title={g.sample_message}><Link href={groupHref(g.id)}>{g.message || '—'}</Link></td>
              <td>{fmtTime(g.first_seen_ms, zone)}</td><td>{fmtTime(g.last_seen_ms, zone)}</td>
              <td><Samples samples={g.samples} /></td>
            </tr>
          )}
        >
          {page.groups.length} shown</PagedTable>
      )}
    </div>
  );
}

export function DlqGroup({ id, who }) {
  const zone = useZone();
  const poll = usePoll(() => api('GET', groupHref(id)), 15000, [id]);
  const g = poll.data;
  return (
    <div>
      <div class="title"><h2>Failure group <span class="mono">{id}</span></h2><Live poll={poll} /></div>
      <p><Link href="/dlq/groups">← all failure groups</Link></p>
      <Problem error={poll.error} />
      {g && (
        <>
          <dl class="facts">
            <dt>count</dt><dd id="group-count">{g.count}</dd>
            <dt>handler</dt><dd>{g.handler || '—'}</dd>
            <dt>class</dt><dd>{g.class}</dd>
            <dt>message</dt><dd class="err" id="group-message">{g.message || '—'}</dd>
            <dt>latest message</dt><dd class="err">{g.sample_message || '—'}</dd>
            <dt>first · last seen</dt><dd>{fmtTime(g.first_seen_ms, zone)} · {fmtTime(g.last_seen_ms, zone)}</dd>
            <dt>entries</dt><dd><Link href={`/dlq?group=${encodeURIComponent(id)}`}>
              list them on the DLQ</Link></dd>
          </dl>
          {can(who, 'operator') && (
            <div class="group-actions">
              <JobStart key={id} body={{ group: id }} label="Retry group" />
              <Discard key={`discard${id}`} body={{ group: id }} label="Discard group" />
            </div>
          )}
          <h3>Latest dead letters</h3>
          <table class="samples">
            <thead><tr><th>dead letter</th><th>task</th><th>became of it</th></tr></thead>
            <tbody>
              {g.samples.map((s) => (
                <tr key={s.id} data-sample={s.id}
                  data-fate={s.discarded ? 'discarded' : s.resubmitted_task_id ? 'resubmitted' : ''}>
                  <td><Link href={entryHref(s.id)} class="mono">{s.id}</Link></td>
                  <td>{s.task_id ? <Link href={`/tasks/${encodeURIComponent(s.task_id)}`} class="mono">
                    {s.task_id}</Link> : '—'}</td>
                  <td>{s.discarded ? <span class="fate discarded">discarded</span>
                    : s.resubmitted_task_id ? <>resubmitted as <Link href={`/tasks/${encodeURIComponent(s.resubmitted_task_id)}`}
                      class="mono">{s.resubmitted_task_id}</Link></> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
