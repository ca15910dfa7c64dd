import type { RunbookAction } from '../../src/config/policy';
import type { SandboxAlert } from '../alerts';

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='4' fill='%234a154b'/%3E%3Ctext x='8' y='11.5' font-size='9' font-family='Arial' font-weight='700' text-anchor='middle' fill='white'%3EAz%3C/text%3E%3C/svg%3E";

/** Where the page's script and styles are served (from public/, by the workspace's routes). */
export const ASSET_PATH = '/sandbox/assets';

/** The simulated Slack workspace: one page; its script and styles are files of their own in public/. */
export function workspacePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Azora · simulated Slack</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="${ASSET_PATH}/styles.css">
</head>
<body>
<header id="topbar">
  <div class="tb-search"><span id="search-icon"></span>Simulated Slack workspace: every command and click goes to the bot as a signed Slack request</div>
  <div class="tb-right">
    <span id="live" class="live">connecting…</span>
    <div class="menu-wrap">
      <button id="alerts-button" class="tb-button" aria-haspopup="true" aria-expanded="false">Alertmanager <span id="alerts-count" class="count" hidden></span> ▾</button>
      <div id="alerts-menu" class="menu" hidden>
        <div class="menu-head"><b>Alertmanager (simulated)</b>
          <div>Fire or resolve the guide's alerts as Prometheus would: pushed to the sandbox's Alertmanager,
          which sends them to the bot's <code>POST /alertmanager</code> unless a silence (Silence 1h in an
          alert's thread) holds them back.</div></div>
        <div id="alerts-list"></div>
      </div>
    </div>
    <label class="acting">Acting as <span id="me-avatar" class="avatar sm"></span>
      <select id="user-switcher" aria-label="Acting as"></select></label>
  </div>
</header>
<nav id="sidebar">
  <div class="ws-header">
    <div class="ws-name">Azora <span>▾</span></div>
    <div class="ws-sub"><span class="dot green"></span>sandbox · runs offline</div>
  </div>
  <div class="side-section"><div class="side-title">▾ Channels</div><ul id="channel-list" class="side-list"></ul></div>
  <div class="side-section"><div class="side-title">▾ People</div><ul id="people-list" class="side-list"></ul></div>
  <div class="side-foot">Erin asks, Amara or Jonas approve. Behind this page: the real bot, a simulated
    Kubernetes cluster (<code>.sandbox/kubeconfig</code>) and a simulated PagerDuty.</div>
</nav>
<main id="main">
  <div class="pane-header"><div id="channel-name" class="ch-name"></div><div id="channel-topic" class="ch-topic"></div><div id="channel-meta" class="ch-meta"></div></div>
  <div id="messages" class="messages" aria-live="polite"></div>
  <form id="composer" class="composer" autocomplete="off">
    <div id="suggestions" class="suggestions" hidden></div>
    <div class="composer-box">
      <input id="composer-input" aria-label="Message" spellcheck="false">
      <div class="composer-bar"><div id="chips" class="chips"></div><button id="send" type="submit" class="send" aria-label="Send"></button></div>
    </div>
  </form>
</main>
<aside id="thread" hidden>
  <div class="pane-header"><div class="th-heading"><div class="th-title">Thread</div><div id="thread-channel" class="th-sub"></div></div>
    <button id="thread-close" class="th-close" aria-label="Close thread">×</button></div>
  <div id="thread-body" class="thread-body"></div>
</aside>
<div id="modal-layer" class="modal-layer" hidden>
  <div class="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title">
    <div class="modal-head"><div class="avatar sm bot">Az</div><div id="modal-title" class="modal-title"></div>
      <button id="modal-x" type="button" class="modal-x" aria-label="Close the modal">×</button></div>
    <form id="modal-form" class="modal-body" autocomplete="off" novalidate></form>
    <div id="modal-banner" class="modal-banner" role="alert" hidden></div>
    <div class="modal-foot"><button id="modal-close" type="button" class="btn">Cancel</button>
      <button id="modal-submit" type="submit" form="modal-form" class="btn primary">Submit</button></div>
  </div>
</div>
<div id="toast" class="toast" role="status" hidden></div>
<script type="module" src="${ASSET_PATH}/client.js"></script>
</body>
</html>
`;
}

const ACTION_TEXT: Record<RunbookAction, string> = {
  rollback:
    'Roll back: what /azora rollback production <service> does (on blue/green, back to the other colour)',
  'switch-back': 'Switch back: the live colour back to the previous one',
  'scale-up': 'Scale up: the live replicas up by the policy step, within the bounds',
  logs: 'Logs: the last 15 minutes of the service, posted in the alert thread',
};

/** What an alert's runbook link opens in the sandbox: what the alert means and what the buttons do. */
export function runbookPage(alert: SandboxAlert, actions: RunbookAction[], namespace: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const items = actions.map((a) => `<li>${esc(ACTION_TEXT[a])}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Runbook: ${esc(alert.alertname)}</title>
<link rel="icon" href="${FAVICON}">
<style>body{font:16px/1.5 Lato,"Liberation Sans","DejaVu Sans",Arial,sans-serif;max-width:720px;margin:40px auto;padding:0 20px;color:#1d1c1d}
code{font-family:Monaco,Menlo,"DejaVu Sans Mono",monospace;font-size:13px;background:#f4f4f4;padding:1px 4px;border-radius:3px}
.sev{font-size:12px;font-weight:700;text-transform:uppercase;border-radius:10px;padding:2px 8px;background:${alert.severity === 'critical' ? '#fde8ee;color:#b0173f' : '#fff1d6;color:#8a5a00'}}</style></head>
<body><h1>${esc(alert.alertname)} <span class="sev">${esc(alert.severity)}</span></h1>
<p>${esc(alert.summary)}.</p><p>${esc(alert.description)}</p>
<p>Service <code>${esc(alert.service)}</code> in <code>${esc(namespace)}</code>.</p>
<h2>Runbook buttons in the alert's thread</h2><ul>${items || '<li>none</li>'}</ul>
<p>They go through the same guards as typed commands: a plan, an approver other than the requester in production, one change at a time.</p>
</body></html>
`;
}
