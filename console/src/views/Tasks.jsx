// Tasks: one page at a time of GET /api/v1/tasks (newest update first),
// filtered by state and handler; the filters live in the URL, the cursors
// of the pages before in memory (Previous).
import { Link } from '../router.jsx';
import { fmtTime, useZone } from '../time.js';
import { ListHead, PagedTable, usePagedList } from './common.jsx';

export const STATES = ['queued', 'running', 'retrying', 'succeeded', 'dead',
  'paused', 'skipped', 'cancelled'];
const FIELDS = [{ key: 'state', label: 'State', options: STATES }, { key: 'handler', label: 'Handler' }];

export function Tasks() {
  const zone = useZone();
  const { paging, poll, page } = usePagedList('/tasks', ['state', 'handler']);
  return (
    <div>
      <ListHead title="Tasks" poll={poll} paging={paging} fields={FIELDS} />
      {page && (
        <>
          <PagedTable name="tasks" paging={paging} page={page} rows={page.tasks} noun="tasks"
            head={<><th>id</th><th>state</th><th>handler</th><th class="num">attempt</th>
              <th>updated</th><th>last error</th></>}
            row={(t) => (
              <tr key={t.id}>
                <td><Link href={`/tasks/${encodeURIComponent(t.id)}`} class="mono">{t.id}</Link></td>
                <td><span class={`state ${t.state}`}>{t.state}</span></td>
                <td>{t.handler}</td><td class="num">{t.attempt}</td>
                <td>{fmtTime(t.updated_ms, zone)}</td>
                <td class="err">{t.last_error}</td>
              </tr>
            )}
          >
            {page.tasks.length} shown · {page.scanned} scanned</PagedTable>
        </>
      )}
    </div>
  );
}
