// Audit (/audit): the operator actions on the audit topic, newest first, a
// page at a time (GET /api/v1/audit, the API's cursors), filtered by actor,
// action (exact, or a prefix ending in "."), target and time.
import { fmtTime, useZone } from '../time.js';
import { ListHead, PagedTable, usePagedList } from './common.jsx';

const KEYS = ['actor', 'action', 'target', 'since', 'until'];
const FIELDS = [
  { key: 'actor', label: 'Actor', size: 10 },
  { key: 'action', label: 'Action', placeholder: 'task. or task.pause', size: 14 },
  { key: 'target', label: 'Target', size: 14 },
  { key: 'since', label: 'Since', placeholder: '24h or RFC 3339', size: 12 },
  { key: 'until', label: 'Until', placeholder: 'RFC 3339', size: 12 },
];

export function Audit() {
  const zone = useZone();
  const { paging, poll, page } = usePagedList('/audit', KEYS);
  return (
    <div>
      <ListHead title="Audit" poll={poll} paging={paging} fields={FIELDS} />
      {page && (
        <>
          <PagedTable name="audit" paging={paging} page={page} rows={page.records} noun="records"
            head={<><th>time</th><th>actor</th><th>action</th><th>target</th>
              <th class="num">count</th><th>result</th><th>details</th></>}
            row={(r) => (
              <tr key={r.id} data-action={r.action}>
                <td>{fmtTime(r.time_ms, zone)}</td>
                <td>{r.actor}{r.host && <span class="muted"> @{r.host}</span>}</td>
                <td>{r.action}</td><td class="mono">{r.target || '—'}</td>
                <td class="num">{r.count ?? '—'}</td><td>{r.result || '—'}</td>
                <td class="mono details">{r.details ? JSON.stringify(r.details) : ''}</td>
              </tr>
            )}
          >
            {page.records.length} shown · {page.matched} matched</PagedTable>
        </>
      )}
    </div>
  );
}
