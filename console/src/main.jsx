// The console's shell: who the caller is (GET /api/v1/whoami), the login
// form, the header with its views and the UTC / local / relative switch,
// and the view of the current path. The view is drawn while whoami is
// asked, so its own calls start at the same time; until whoami answers it
// has no role and shows no action (can() is false), and when whoami finds
// nobody the login form takes its place.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, getToken, setToken } from './api.js';
import { Link, useLocation } from './router.jsx';
import { setZone, useZone } from './time.js';
import { useStatus } from './status.js';
import { Overview } from './views/Overview.jsx';
import { Tasks } from './views/Tasks.jsx';
import { TaskDetail } from './views/TaskDetail.jsx';
import { Breakers } from './views/Breakers.jsx';
import { Dlq } from './views/Dlq.jsx';
import { DlqEntry } from './views/DlqEntry.jsx';
import { DlqGroup, DlqGroups } from './views/DlqGroups.jsx';
import { DlqJob, DlqJobs } from './views/DlqJobs.jsx';
import { Audit } from './views/Audit.jsx';
import { Retries } from './views/Retries.jsx';
import { History } from './views/History.jsx';
import { ScheduleTimeline } from './views/ScheduleTimeline.jsx';
import { ScheduleDetail, Schedules } from './views/Schedules.jsx';
import './style.css';

function Login({ onLogin, error }) {
  const [token, setText] = useState('');
  const submit = (e) => {
    e.preventDefault();
    onLogin(token.trim());
  };
  return (
    <form class="login" onSubmit={submit}>
      <h2>Log in</h2>
      <p>Paste an API token (<code>api_tokens:</code> in the config). It is kept in this
        tab only (sessionStorage).</p>
      <input id="token" type="password" autocomplete="off" placeholder="token"
        value={token} onInput={(e) => setText(e.target.value)} />
      <button type="submit" disabled={!token.trim()}>Log in</button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}

// How the current view gets its data (status.js), always in the header.
function Conn() {
  const { state, why } = useStatus();
  const tip = {
    live: 'pushed by the server (event stream)',
    polling: 'asked for every few seconds (the event stream is not available)',
    stale: 'the last answer is old',
    waiting: 'no answer yet',
  }[state];
  return (
    <span id="conn" class={`live ${state}`} data-state={state} title={why || tip}>
      <span class="dot" /> {state}
    </span>
  );
}

function View({ path, who }) {
  if (path === '/dlq/groups') return <DlqGroups />;
  if (path === '/dlq/jobs') return <DlqJobs />;
  const j = path.match(/^\/dlq\/jobs\/([^/]+)$/);
  if (j) return <DlqJob id={decodeURIComponent(j[1])} who={who} />;
  if (path === '/schedules/timeline') return <ScheduleTimeline />;
  const g = path.match(/^\/dlq\/groups\/([^/]+)$/);
  if (g) return <DlqGroup id={decodeURIComponent(g[1])} who={who} />;
  const m = path.match(/^\/(tasks|dlq|schedules)\/([^/]+)$/);
  if (m) {
    const id = decodeURIComponent(m[2]);
    if (m[1] === 'tasks') return <TaskDetail id={id} who={who} />;
    if (m[1] === 'dlq') return <DlqEntry id={id} who={who} />;
    return <ScheduleDetail id={id} who={who} />;
  }
  if (path === '/tasks') return <Tasks />;
  if (path === '/breakers') return <Breakers who={who} />;
  if (path === '/dlq') return <Dlq who={who} />;
  if (path === '/schedules') return <Schedules who={who} />;
  if (path === '/audit') return <Audit />;
  if (path === '/retries') return <Retries />;
  if (path === '/history') return <History who={who} />;
  if (path === '/' || path === '/queues') return <Overview />;
  return <p class="error">No view at {path}. <Link href="/">Overview</Link></p>;
}

function App() {
  const { path } = useLocation();
  const zone = useZone();
  const [who, setWho] = useState(undefined); // undefined: asking; null: nobody
  const [loginError, setLoginError] = useState('');
  const [showLogin, setShowLogin] = useState(false);

  const ask = async () => {
    try {
      setWho(await api('GET', '/whoami'));
      return true;
    } catch (e) {
      setWho(null);
      return e;
    }
  };
  useEffect(() => { ask(); }, []);

  const login = async (token) => {
    const before = getToken();
    setToken(token);
    const r = await ask();
    if (r === true) {
      setLoginError('');
      setShowLogin(false);
    } else {
      setToken(before);
      setLoginError(r.status === 401 ? 'That token is not valid.' : r.message);
      ask();
    }
  };
  const logout = () => {
    setToken('');
    ask();
  };

  const nav = [['/', 'Overview'], ['/tasks', 'Tasks'], ['/retries', 'Retries'],
    ['/history', 'History'],
    ['/breakers', 'Breakers'],
    ['/dlq', 'DLQ'], ['/schedules', 'Schedules'], ['/audit', 'Audit']];
  const current = (href) => (href === '/' ? path === '/' || path === '/queues' : path.startsWith(href));
  return (
    <>
      <header>
        <strong class="brand">drover</strong>
        <nav>
          {nav.map(([href, label]) => (
            <Link href={href} class={current(href) ? 'active' : ''}>{label}</Link>
          ))}
        </nav>
        <span class="spacer" />
        <Conn />
        <label class="zone">
          Times
          <select value={zone} onChange={(e) => setZone(e.target.value)}>
            <option value="utc">UTC</option>
            <option value="local">local</option>
            <option value="relative">relative</option>
          </select>
        </label>
        {who && <span class="who" title="token name and role">{who.name} · {who.role}</span>}
        {who && getToken() && <button class="link" onClick={logout}>Log out</button>}
        {(!who || !getToken()) && who !== undefined && (
          <button class="link" id="login-open" onClick={() => setShowLogin(true)}>Log in</button>
        )}
      </header>
      <main>
        {who === null || showLogin ? <Login onLogin={login} error={loginError} />
          : <View path={path} who={who} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app'));
