// A run-time schedule's form on the Schedules view (operators): add one
// (POST /api/v1/schedules) or, given its row, change one (PATCH
// /api/v1/schedules/ID with the members that differ from the row's
// definition; a label taken out is sent as null). The members are the
// API's: id (add only), cron, timezone, handler, payload (a JSON object),
// priority (1-10), catchup, overlap, enabled and labels (a JSON object of
// strings); a field left empty is not sent (the API's default on an add,
// the schedule's value on a change). A problem whose pointer names a
// field ("/cron") is shown under that field, any other under the form; a
// payload or labels that is not a JSON object is refused in the page, under
// its field, before any request.
// <ScheduleForm s={row or undefined} onDone={(text) => ...} onCancel={...} />
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Problem, jsonObject } from './common.jsx';

const BLANK = { id: '', cron: '', timezone: '', handler: '', payload: '', priority: '',
  catchup: '', overlap: '', enabled: true, labels: '' };
const CATCHUP = ['skip', 'once', 'all'];
const OVERLAP = ['allow', 'skip', 'buffer_one'];

const json = (v) => (v && Object.keys(v).length ? JSON.stringify(v) : '');

// the form's values of a row's definition
function values(s) {
  const d = s.definition || {};
  return { ...BLANK, id: s.id, cron: d.cron || '', timezone: d.timezone || '', handler: d.handler || '',
    payload: json(d.payload), priority: d.priority ? String(d.priority) : '', catchup: d.catchup || '',
    overlap: d.overlap || '', enabled: d.enabled !== false, labels: json(d.labels) };
}

// an object typed in field k (undefined when empty); its error names the field
function object(v, k) {
  if (!v[k].trim()) return undefined;
  try {
    return jsonObject(v[k], k);
  } catch (e) {
    e.pointer = `/${k}`;
    throw e;
  }
}

// the members the form's values give (undefined: not sent)
function members(v) {
  const text = (k) => v[k].trim() || undefined;
  return { cron: text('cron'), timezone: text('timezone'), handler: text('handler'),
    payload: object(v, 'payload'), priority: v.priority === '' ? undefined : Number(v.priority),
    catchup: v.catchup || undefined, overlap: v.overlap || undefined, enabled: v.enabled,
    labels: object(v, 'labels') };
}

const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));

// PATCH's body: what changed from was; labels merge, so one taken out is null
function changes(v, was) {
  const now = defined(members(v));
  const old = members(was);
  const body = Object.fromEntries(Object.entries(now)
    .filter(([k, x]) => JSON.stringify(x) !== JSON.stringify(old[k])));
  if (body.labels || (old.labels && !now.labels)) {
    body.labels = { ...body.labels };
    for (const k of Object.keys(old.labels || {})) if (!(k in body.labels)) body.labels[k] = null;
  }
  return body;
}

const FIELDS = Object.keys(BLANK);

export function ScheduleForm({ s, onDone, onCancel }) {
  const [was] = useState(() => (s ? values(s) : BLANK));
  const [v, setV] = useState(was);
  const [error, setError] = useState(null);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const at = (k) => (error && error.pointer === `/${k}` ? error : null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const r = s ? await api('PATCH', `/schedules/${encodeURIComponent(s.id)}`, null, changes(v, was))
        : await api('POST', '/schedules', null, { id: v.id.trim(), ...defined(members(v)) });
      onDone(`${r.id} ${s ? 'changed' : 'added'}`);
    } catch (err) {
      setError(err);
    }
  };
  // a field's label and control, its problem under it (a call, not a
  // component: a component made in each render would lose the focus)
  const field = (k, label, control) => (
    <div class="field" data-field={k}>
      <label>{label} {control}</label>
      <Problem error={at(k)} />
    </div>
  );
  const input = (k, props) => <input id={`schedule-${k}`} value={v[k]} onInput={set(k)} {...props} />;
  const select = (k, options) => (
    <select id={`schedule-${k}`} value={v[k]} onChange={set(k)}>
      <option value="">default</option>
      {options.map((o) => <option value={o}>{o}</option>)}
    </select>
  );
  const area = (k, placeholder) => (
    <textarea id={`schedule-${k}`} rows="2" value={v[k]} onInput={set(k)} placeholder={placeholder} />
  );
  return (
    <form class="schedule-form" id={s ? 'schedule-edit' : 'schedule-add'} onSubmit={submit}>
      <h3>{s ? <>Change <span class="mono">{s.id}</span></> : 'Add a schedule'}</h3>
      <fieldset class="task-options">
        {!s && field('id', 'Id', input('id', { size: 20, placeholder: 'a-z 0-9 _ . -' }))}
        {field('cron', 'Cron', input('cron', { size: 16, class: 'mono', placeholder: '0 3 * * *' }))}
        {field('timezone', 'Time zone', input('timezone', { size: 16, placeholder: 'UTC' }))}
        {field('handler', 'Handler', input('handler', { size: 16 }))}
        {field('priority', 'Priority', input('priority', { type: 'number', min: 1, max: 10, size: 3 }))}
        {field('catchup', 'Catch-up', select('catchup', CATCHUP))}
        {field('overlap', 'Overlap', select('overlap', OVERLAP))}
        {field('enabled', 'Enabled',
          <input id="schedule-enabled" type="checkbox" checked={v.enabled} onChange={set('enabled')} />)}
        {field('payload', 'Payload (a JSON object)', area('payload', '{"full": true}'))}
        {field('labels', 'Labels (a JSON object, optional)', area('labels', '{"team": "ops"}'))}
      </fieldset>
      {error && !FIELDS.includes((error.pointer || '').slice(1)) && <Problem error={error} />}
      <div class="actions">
        <button type="submit" id="schedule-save">{s ? 'Save' : 'Add'}</button>
        <button type="button" class="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
