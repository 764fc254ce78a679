// A run-time schedule's form on the Schedules view (operators): add one
// (POST /api/v1/schedules) or, given its row, change one (PATCH
// /api/v1/schedules/ID with the members that differ from the row's
// definition). The members are every one the API's body takes
// (ScheduleCreate): id (add only), cron, timezone, handler, payload (a JSON
// object), priority (1-10), catchup, overlap, enabled, labels (a JSON
// object of strings), and in two groups that fold away: the retry policy
// (policy: a retry policy's name, offered from the OpenAPI document's
// enum; max_attempts, 0 = the policy's) and timing (jitter,
// catchup_window, deadline: durations typed as 1500, 1500ms, 30s, 5m, 2h
// or 1d, sent in ms). A field left empty is not sent on an add (the API's
// default); on a change, a member emptied is sent as null (taken out:
// back to its default; cron and handler cannot be emptied) and a label
// taken out is null. A problem whose pointer names a field ("/cron") is
// shown under that field (its group unfolded), any other under the form;
// a payload, labels or duration the API could not take is refused in the
// page, under its field, before any request.
// <ScheduleForm s={row or undefined} onDone={(text) => ...} onCancel={...} />
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Problem, jsonObject } from './common.jsx';

const BLANK = { id: '', cron: '', timezone: '', handler: '', payload: '', priority: '',
  catchup: '', overlap: '', enabled: true, labels: '', policy: '', max_attempts: '',
  jitter: '', catchup_window: '', deadline: '' };
const CATCHUP = ['skip', 'once', 'all'];
const OVERLAP = ['allow', 'skip', 'buffer_one'];
const DURATIONS = ['jitter', 'catchup_window', 'deadline'];
// the members in each group that folds away
const GROUPS = { retry: ['policy', 'max_attempts'], timing: DURATIONS };

const json = (v) => (v && Object.keys(v).length ? JSON.stringify(v) : '');

// ms as the largest unit that says it exactly ("90s", "2h", "1500ms")
const UNITS = [['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000]];
export function fmtDuration(ms) {
  if (!ms) return '0';
  for (const [u, n] of UNITS) if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

// duration text in field k into ms (undefined when empty)
function duration(v, k) {
  const t = v[k].trim();
  if (!t) return undefined;
  const m = /^(\d{1,12})\s*(ms|s|m|h|d)?$/.exec(t);
  if (!m) {
    const e = new Error(`${k}: a duration such as 1500 (ms), 30s, 5m, 2h or 1d`);
    e.pointer = `/${k}`;
    throw e;
  }
  const unit = m[2] ? (UNITS.find(([u]) => u === m[2]) || ['ms', 1])[1] : 1;
  return Number(m[1]) * unit;
}

const num = (x) => (typeof x === 'number' ? String(x) : '');

// the form's values of a row's definition
function values(s) {
  const d = s.definition || {};
  const v = { ...BLANK, id: s.id, cron: d.cron || '', timezone: d.timezone || '', handler: d.handler || '',
    payload: json(d.payload), priority: d.priority ? String(d.priority) : '', catchup: d.catchup || '',
    overlap: d.overlap || '', enabled: d.enabled !== false, labels: json(d.labels),
    policy: d.policy || '', max_attempts: num(d.max_attempts) };
  for (const k of DURATIONS) v[k] = typeof d[k] === 'number' ? fmtDuration(d[k]) : '';
  return v;
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
  const int = (k) => (v[k] === '' ? undefined : Number(v[k]));
  return { cron: text('cron'), timezone: text('timezone'), handler: text('handler'),
    payload: object(v, 'payload'), priority: int('priority'),
    catchup: v.catchup || undefined, overlap: v.overlap || undefined, enabled: v.enabled,
    labels: object(v, 'labels'), policy: text('policy'), max_attempts: int('max_attempts'),
    jitter: duration(v, 'jitter'), catchup_window: duration(v, 'catchup_window'),
    deadline: duration(v, 'deadline') };
}

const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));

// PATCH's body: what changed from was; a member emptied is null (back to
// its default); labels merge, so one taken out is null
export function changes(v, was) {
  const now = defined(members(v));
  const old = members(was);
  const body = Object.fromEntries(Object.entries(now)
    .filter(([k, x]) => JSON.stringify(x) !== JSON.stringify(old[k])));
  for (const [k, x] of Object.entries(old)) {
    if (x !== undefined && !(k in now) && k !== 'labels') body[k] = null;
  }
  if (body.labels || (old.labels && !now.labels)) {
    body.labels = { ...body.labels };
    for (const k of Object.keys(old.labels || {})) if (!(k in body.labels)) body.labels[k] = null;
  }
  return body;
}

const FIELDS = Object.keys(BLANK);

// the retry policies the deployment has: the OpenAPI document's enum of
// ScheduleCreate.policy, read once ([] when it cannot be read)
let policies;
function usePolicies() {
  const [names, setNames] = useState([]);
  useEffect(() => {
    policies = policies || api('GET', '/openapi.json').then((doc) => (
      doc.components.schemas.ScheduleCreate.properties.policy.enum || []).filter((n) => typeof n === 'string'))
      .catch(() => { policies = undefined; return []; });
    let live = true;
    policies.then((n) => live && setNames(n));
    return () => { live = false; };
  }, []);
  return names;
}

export function ScheduleForm({ s, onDone, onCancel }) {
  const [was] = useState(() => (s ? values(s) : BLANK));
  const [v, setV] = useState(was);
  const [error, setError] = useState(null);
  // a group is unfolded when it holds a value other than its default, or
  // a problem
  const [open, setOpen] = useState(() => ({
    retry: !!(was.policy || (was.max_attempts && was.max_attempts !== '0')),
    timing: !!((was.jitter && was.jitter !== '0') || (was.deadline && was.deadline !== '0')
      || (was.catchup_window && was.catchup_window !== '1h')),
  }));
  const groupRef = { retry: useRef(null), timing: useRef(null) };
  const names = usePolicies();
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
      const k = (err.pointer || '').slice(1);
      for (const [g, ks] of Object.entries(GROUPS)) {
        if (!ks.includes(k)) continue;
        setOpen((o) => ({ ...o, [g]: true }));
        // the element too: a fold whose toggle event is still pending
        // leaves the state open and the element folded, which a render
        // of the same state would not change
        if (groupRef[g].current) groupRef[g].current.open = true;
      }
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
  const group = (g, title, children) => (
    <details class="options schedule-group" id={`schedule-${g}`} open={open[g]} ref={groupRef[g]}
      onToggle={(e) => { const o = e.currentTarget.open; setOpen((cur) => (cur[g] === o ? cur : { ...cur, [g]: o })); }}>
      <summary>{title}</summary>
      <fieldset class="task-options">{children}</fieldset>
    </details>
  );
  const dur = (k, placeholder) => input(k, { size: 8, class: 'mono', placeholder });
  return (
    <form class="schedule-form" id={s ? 'schedule-edit' : 'schedule-add'} onSubmit={submit}>
      <h3>{s ? <>Change <span class="mono">{s.id}</span></> : 'Add a schedule'}</h3>
      <fieldset class="task-options">
        {!s && field('id', 'Id', input('id', { size: 20, placeholder: 'a-z 0-9 _ . -', required: true }))}
        {field('cron', 'Cron', input('cron', { size: 16, class: 'mono', placeholder: '0 3 * * *', required: true }))}
        {field('timezone', 'Time zone', input('timezone', { size: 16, placeholder: 'UTC' }))}
        {field('handler', 'Handler', input('handler', { size: 16, required: true }))}
        {field('priority', 'Priority', input('priority', { type: 'number', min: 1, max: 10, size: 3, placeholder: '5' }))}
        {field('catchup', 'Catch-up', select('catchup', CATCHUP))}
        {field('overlap', 'Overlap', select('overlap', OVERLAP))}
        {field('enabled', 'Enabled',
          <input id="schedule-enabled" type="checkbox" checked={v.enabled} onChange={set('enabled')} />)}
        {field('payload', 'Payload (a JSON object)', area('payload', '{"full": true}'))}
        {field('labels', 'Labels (a JSON object, optional)', area('labels', '{"team": "ops"}'))}
      </fieldset>
      {group('retry', 'Retry policy', <>
        {field('policy', 'Policy', <>
          {input('policy', { size: 16, list: 'schedule-policies', placeholder: "the handler's" })}
          <datalist id="schedule-policies">{names.map((n) => <option value={n} />)}</datalist>
        </>)}
        {field('max_attempts', 'Max attempts',
          input('max_attempts', { type: 'number', min: 0, max: 1000, size: 5, placeholder: "0: the policy's" }))}
        <p class="muted hint">A policy's backoff (base and max delay, multiplier, jitter) is set in the config
          file's <code>retry_policies</code>; a schedule names one.</p>
      </>)}
      {group('timing', 'Timing (1500 = ms, or 30s, 5m, 2h, 1d)', <>
        {field('jitter', 'Fire jitter (up to 1h)', dur('jitter', '0'))}
        {field('catchup_window', 'Catch-up window (up to 30d)', dur('catchup_window', '1h'))}
        {field('deadline', 'Task deadline (0 = none)', dur('deadline', '0'))}
      </>)}
      {error && !FIELDS.includes((error.pointer || '').slice(1)) && <Problem error={error} />}
      <div class="actions">
        <button type="submit" id="schedule-save">{s ? 'Save' : 'Add'}</button>
        <button type="button" class="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
