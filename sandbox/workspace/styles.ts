/** The workspace page's look: Slack's classic layout and Block Kit's components, close enough to read like it. */
export const WORKSPACE_CSS = String.raw`
:root {
  --aubergine: #3f0e40;
  --aubergine-dark: #350d36;
  --active: #1164a3;
  --text: #1d1c1d;
  --muted: #616061;
  --line: #e2e2e2;
  --link: #1264a3;
  --green: #007a5a;
  --red: #e01e5a;
  --hover: #f8f8f8;
  --mono: Monaco, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body {
  margin: 0;
  font: 15px/1.46668 Lato, "Slack-Lato", -apple-system, BlinkMacSystemFont, "Segoe UI", "Helvetica Neue",
    "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
  color: var(--text);
  display: grid;
  grid-template-rows: 44px minmax(0, 1fr);
  grid-template-columns: 260px minmax(0, 1fr) auto;
  overflow: hidden;
  -webkit-font-smoothing: antialiased;
}
button { font: inherit; }
[hidden] { display: none !important; }

/* top bar */
#topbar {
  grid-column: 1 / -1;
  background: var(--aubergine-dark);
  color: #fff;
  display: flex;
  align-items: center;
  gap: 12px;
  padding: 0 12px 0 16px;
  border-bottom: 1px solid rgba(255, 255, 255, 0.1);
}
.tb-search {
  flex: 1;
  max-width: 640px;
  margin: 0 auto;
  height: 28px;
  border-radius: 6px;
  background: rgba(255, 255, 255, 0.14);
  color: rgba(255, 255, 255, 0.85);
  font-size: 13px;
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 0 12px;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}
.tb-search svg { flex: none; opacity: 0.8; }
.tb-right { display: flex; align-items: center; gap: 12px; }
.live { font-size: 12px; color: rgba(255, 255, 255, 0.7); display: flex; align-items: center; gap: 6px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #e8912d; }
.live.on::before { background: #2bac76; }
.tb-button {
  height: 28px;
  padding: 0 10px;
  border-radius: 6px;
  border: 1px solid rgba(255, 255, 255, 0.3);
  background: rgba(255, 255, 255, 0.08);
  color: #fff;
  font-size: 13px;
  font-weight: 700;
  cursor: pointer;
  display: flex;
  align-items: center;
  gap: 6px;
}
.tb-button:hover, .tb-button[aria-expanded="true"] { background: rgba(255, 255, 255, 0.2); }
.tb-button .count {
  background: var(--red);
  border-radius: 9px;
  padding: 0 6px;
  font-size: 11px;
  line-height: 16px;
}
.acting { display: flex; align-items: center; gap: 8px; font-size: 12px; color: rgba(255, 255, 255, 0.7); }
.acting select {
  height: 28px;
  border-radius: 6px;
  border: 1px solid rgba(255, 255, 255, 0.3);
  background: rgba(255, 255, 255, 0.08);
  color: #fff;
  font-size: 13px;
  font-weight: 700;
  padding: 0 6px;
  cursor: pointer;
}
.acting select option { color: var(--text); background: #fff; }

/* avatars */
.avatar {
  width: 36px;
  height: 36px;
  border-radius: 6px;
  color: #fff;
  font-weight: 900;
  font-size: 16px;
  display: flex;
  align-items: center;
  justify-content: center;
  flex: none;
  user-select: none;
}
.avatar.sm { width: 24px; height: 24px; font-size: 12px; border-radius: 4px; }
.avatar.xs { width: 20px; height: 20px; font-size: 10px; border-radius: 4px; }
.avatar.bot { background: linear-gradient(135deg, #611f69 0%, #1264a3 100%); font-size: 14px; letter-spacing: -0.5px; }
.avatar.slackbot { background: #36c5f0; }

/* sidebar */
#sidebar {
  background: var(--aubergine);
  color: #cfc3cf;
  overflow-y: auto;
  display: flex;
  flex-direction: column;
}
.ws-header { padding: 12px 16px 10px; border-bottom: 1px solid rgba(255, 255, 255, 0.1); }
.ws-name { color: #fff; font-size: 18px; font-weight: 900; display: flex; align-items: center; gap: 6px; }
.ws-sub { font-size: 12px; display: flex; align-items: center; gap: 6px; margin-top: 2px; }
.dot { width: 8px; height: 8px; border-radius: 50%; display: inline-block; flex: none; }
.dot.green { background: #2bac76; }
.side-section { padding: 12px 0 4px; }
.side-title { padding: 0 16px 4px; font-size: 14px; display: flex; align-items: center; gap: 6px; }
.side-list { list-style: none; margin: 0; padding: 0; }
.side-item {
  height: 28px;
  margin: 0 8px;
  padding: 0 10px;
  border-radius: 6px;
  display: flex;
  align-items: center;
  gap: 8px;
  cursor: pointer;
  font-size: 15px;
  white-space: nowrap;
}
.side-item:hover { background: rgba(255, 255, 255, 0.1); }
.side-item.active { background: var(--active); color: #fff; }
.side-item.unread { color: #fff; font-weight: 900; }
.side-item .hash { width: 16px; text-align: center; opacity: 0.8; }
.side-item .name { flex: 1; overflow: hidden; text-overflow: ellipsis; }
.side-item .badge {
  background: #cd2553;
  color: #fff;
  border-radius: 9px;
  font-size: 12px;
  font-weight: 700;
  line-height: 18px;
  padding: 0 7px;
}
.side-item .you { font-size: 12px; opacity: 0.7; }
.side-item .presence { width: 9px; height: 9px; border-radius: 50%; background: #2bac76; margin-left: -4px; }
.side-foot {
  margin-top: auto;
  padding: 12px 16px 16px;
  font-size: 12px;
  line-height: 1.5;
  color: rgba(207, 195, 207, 0.8);
  border-top: 1px solid rgba(255, 255, 255, 0.1);
}
.side-foot code { color: #fff; font-family: var(--mono); font-size: 11px; }

/* channel */
#main { display: flex; flex-direction: column; min-width: 0; min-height: 0; background: #fff; }
.pane-header {
  height: 50px;
  flex: none;
  border-bottom: 1px solid var(--line);
  padding: 0 20px;
  display: flex;
  align-items: center;
  gap: 12px;
  min-width: 0;
}
.ch-name { font-size: 18px; font-weight: 900; white-space: nowrap; }
.ch-topic {
  font-size: 13px;
  color: var(--muted);
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
  border-left: 1px solid var(--line);
  padding-left: 12px;
}
.messages { flex: 1; overflow-y: auto; padding: 0 0 12px; min-height: 0; }
.day { display: flex; align-items: center; margin: 16px 0 4px; }
.day::before, .day::after { content: ""; flex: 1; border-top: 1px solid var(--line); }
.day span {
  font-size: 13px;
  font-weight: 700;
  border: 1px solid var(--line);
  border-radius: 24px;
  padding: 2px 14px;
  background: #fff;
}
.empty { color: var(--muted); padding: 20px 20px 8px; font-size: 15px; }
.empty b { color: var(--text); }
.empty .intro-name { font-size: 22px; font-weight: 900; color: var(--text); margin-bottom: 4px; }

/* messages */
.msg {
  display: grid;
  grid-template-columns: 36px minmax(0, 1fr);
  column-gap: 8px;
  padding: 8px 20px;
  position: relative;
}
.msg:hover { background: var(--hover); }
.msg.compact { padding-top: 2px; padding-bottom: 2px; }
.msg.compact .gutter-time {
  font-size: 11px;
  color: var(--muted);
  visibility: hidden;
  text-align: right;
  padding-top: 3px;
  white-space: nowrap;
}
.msg.compact:hover .gutter-time { visibility: visible; }
.msg.ephemeral { background: #f5f8fb; }
.msg.flash { animation: flash 1.6s ease-out; }
@keyframes flash { from { background: #fff3c4; } to { background: transparent; } }
.msg-head { display: flex; align-items: baseline; gap: 6px; line-height: 1.3; margin-bottom: 1px; }
.msg-name { font-weight: 900; font-size: 15px; }
.app-badge {
  font-size: 10px;
  font-weight: 700;
  color: var(--muted);
  background: rgba(29, 28, 29, 0.13);
  border-radius: 2px;
  padding: 1px 3px;
  line-height: 1.25;
  align-self: center;
}
.msg-time { font-size: 12px; color: var(--muted); }
.edited { font-size: 13px; color: var(--muted); margin-left: 4px; white-space: nowrap; }
.ephemeral-label {
  font-size: 13px;
  color: var(--muted);
  display: flex;
  align-items: center;
  gap: 6px;
  margin-bottom: 2px;
}
.mrkdwn { word-wrap: break-word; overflow-wrap: anywhere; }
.mrkdwn a, .date { color: var(--link); text-decoration: none; }
.mrkdwn a:hover { text-decoration: underline; }
.date { border-bottom: 1px dotted rgba(18, 100, 163, 0.5); }
.mrkdwn code {
  font-family: var(--mono);
  font-size: 12px;
  color: #c01343;
  background: rgba(29, 28, 29, 0.04);
  border: 1px solid rgba(29, 28, 29, 0.13);
  border-radius: 3px;
  padding: 2px 3px 1px;
}
.mrkdwn pre {
  font-family: var(--mono);
  font-size: 12px;
  line-height: 1.5;
  background: rgba(29, 28, 29, 0.04);
  border: 1px solid rgba(29, 28, 29, 0.13);
  border-radius: 4px;
  padding: 8px;
  margin: 4px 0;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
.mrkdwn blockquote { margin: 0; padding-left: 12px; border-left: 4px solid #ddd; }
.mention {
  color: var(--link);
  background: rgba(29, 155, 209, 0.1);
  border-radius: 3px;
  padding: 0 2px;
}
.mention.me { color: var(--text); background: rgba(242, 199, 68, 0.4); }
.emo { display: inline-block; width: 1.15em; height: 1.15em; vertical-align: -0.2em; margin: 0 1px; }
.emo svg { width: 100%; height: 100%; display: block; }

/* blocks */
.block { margin: 2px 0; }
.block-section { display: flex; gap: 12px; align-items: flex-start; }
.block-section > .mrkdwn, .block-section > .section-body { flex: 1; min-width: 0; }
.block-fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin-top: 4px; }
.block-context {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 4px 8px;
  font-size: 12px;
  color: var(--muted);
  margin: 4px 0;
}
.block-context .mention { font-size: 12px; }
.block-context .edited { font-size: 12px; margin-left: 0; }
.block-context img { width: 20px; height: 20px; border-radius: 4px; }
.block-divider { border: 0; border-top: 1px solid #ddd; margin: 10px 0; }
.block-header { font-size: 18px; font-weight: 900; margin: 4px 0; }
.block-image img { max-width: 360px; border-radius: 8px; }
.block-actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; }
.block-unknown { font-size: 12px; color: var(--muted); font-style: italic; }
.btn {
  height: 28px;
  padding: 0 12px;
  border-radius: 4px;
  border: 1px solid rgba(29, 28, 29, 0.3);
  background: #fff;
  color: var(--text);
  font-size: 13px;
  font-weight: 700;
  cursor: pointer;
  display: inline-flex;
  align-items: center;
  gap: 6px;
  white-space: nowrap;
}
.btn:hover { background: var(--hover); box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08); }
.btn.primary { background: var(--green); border-color: var(--green); color: #fff; }
.btn.primary:hover { background: #148567; }
.btn.danger { background: var(--red); border-color: var(--red); color: #fff; }
.btn.danger:hover { background: #e23067; }
.btn.link svg { opacity: 0.7; }
.btn[disabled] { opacity: 0.65; cursor: progress; }
.btn.sm { height: 24px; font-size: 12px; padding: 0 10px; }
.spinner {
  width: 12px;
  height: 12px;
  border-radius: 50%;
  border: 2px solid currentColor;
  border-right-color: transparent;
  animation: spin 0.7s linear infinite;
}
@keyframes spin { to { transform: rotate(360deg); } }

/* thread summary under a parent */
.thread-summary {
  margin-top: 4px;
  display: inline-flex;
  align-items: center;
  gap: 8px;
  padding: 4px 8px 4px 4px;
  border-radius: 6px;
  border: 1px solid transparent;
  cursor: pointer;
  max-width: 100%;
}
.thread-summary:hover { background: #fff; border-color: rgba(29, 28, 29, 0.13); }
.thread-summary .avatars { display: flex; gap: 4px; }
.thread-summary .count { color: var(--link); font-weight: 700; font-size: 13px; }
.thread-summary .last { color: var(--muted); font-size: 13px; }
.msg.open-thread { background: #fdf7e3; }

/* composer */
.composer { padding: 0 20px 20px; position: relative; flex: none; }
.composer-box {
  border: 1px solid #bbbabb;
  border-radius: 8px;
  background: #fff;
}
.composer-box:focus-within { border-color: #868686; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.1); }
.composer input {
  width: 100%;
  border: 0;
  outline: 0;
  padding: 11px 12px 6px;
  font: inherit;
  background: transparent;
}
.composer-bar { display: flex; align-items: center; gap: 8px; padding: 4px 6px 6px 10px; }
.chips { flex: 1; display: flex; gap: 6px; flex-wrap: wrap; align-items: center; font-size: 12px; color: var(--muted); }
.chip {
  font-family: var(--mono);
  font-size: 11px;
  border: 1px solid rgba(29, 28, 29, 0.16);
  background: #f8f8f8;
  color: var(--text);
  border-radius: 12px;
  padding: 2px 8px;
  cursor: pointer;
}
.chip:hover { background: #efefef; }
.send {
  width: 32px;
  height: 28px;
  border-radius: 4px;
  border: 0;
  background: transparent;
  color: #bbb;
  display: flex;
  align-items: center;
  justify-content: center;
  cursor: pointer;
}
.send.ready { background: var(--green); color: #fff; }
.suggestions {
  position: absolute;
  left: 20px;
  right: 20px;
  bottom: calc(100% - 8px);
  background: #fff;
  border: 1px solid rgba(29, 28, 29, 0.13);
  border-radius: 8px;
  box-shadow: 0 4px 12px rgba(0, 0, 0, 0.12);
  padding: 6px 0;
  z-index: 5;
}
.suggestions .s-title { font-size: 12px; color: var(--muted); padding: 2px 14px 6px; }
.suggestion { display: flex; gap: 12px; padding: 5px 14px; cursor: pointer; align-items: baseline; }
.suggestion.active, .suggestion:hover { background: var(--active); color: #fff; }
.suggestion .cmd { font-weight: 700; font-size: 14px; }
.suggestion .desc { font-size: 13px; color: var(--muted); }
.suggestion.active .desc, .suggestion:hover .desc { color: rgba(255, 255, 255, 0.85); }

/* thread pane */
#thread {
  width: 440px;
  border-left: 1px solid var(--line);
  display: flex;
  flex-direction: column;
  min-height: 0;
  background: #fff;
}
.th-title { font-size: 18px; font-weight: 900; }
.th-sub { font-size: 13px; color: var(--muted); }
.th-heading { display: flex; align-items: baseline; gap: 8px; }
.th-close {
  margin-left: auto;
  border: 0;
  background: transparent;
  font-size: 22px;
  color: var(--muted);
  width: 32px;
  height: 32px;
  border-radius: 6px;
  cursor: pointer;
}
.th-close:hover { background: var(--hover); }
.thread-body { flex: 1; overflow-y: auto; padding-bottom: 16px; }
.replies-divider { display: flex; align-items: center; gap: 10px; padding: 4px 20px; font-size: 13px; color: var(--muted); }
.replies-divider::after { content: ""; flex: 1; border-top: 1px solid var(--line); }

/* Alertmanager menu */
.menu-wrap { position: relative; }
.menu {
  position: absolute;
  right: 0;
  top: 36px;
  width: 500px;
  background: #fff;
  color: var(--text);
  border-radius: 8px;
  box-shadow: 0 0 0 1px rgba(29, 28, 29, 0.13), 0 8px 24px rgba(0, 0, 0, 0.25);
  padding: 8px 0;
  z-index: 20;
}
.menu-head { padding: 6px 16px 10px; border-bottom: 1px solid var(--line); margin-bottom: 4px; }
.menu-head b { font-size: 15px; }
.menu-head div { font-size: 12px; color: var(--muted); }
.alert-row {
  display: grid;
  grid-template-columns: 10px minmax(0, 1fr) auto;
  gap: 12px;
  align-items: center;
  padding: 7px 16px;
}
.alert-row:hover { background: var(--hover); }
.alert-row .a-name { font-weight: 700; font-size: 14px; display: flex; gap: 8px; align-items: center; }
.alert-row .a-meta { font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.alert-row .dot { background: #c5c5c5; }
.alert-row.firing .dot { background: var(--red); box-shadow: 0 0 0 3px rgba(224, 30, 90, 0.2); }
.sev {
  font-size: 10px;
  font-weight: 700;
  text-transform: uppercase;
  letter-spacing: 0.3px;
  border-radius: 10px;
  padding: 1px 7px;
}
.sev.critical { background: #fde8ee; color: #b0173f; }
.sev.warning { background: #fff1d6; color: #8a5a00; }

/* toast */
.toast {
  position: fixed;
  left: 50%;
  bottom: 96px;
  transform: translateX(-50%);
  background: #1d1c1d;
  color: #fff;
  font-size: 14px;
  padding: 10px 16px;
  border-radius: 8px;
  box-shadow: 0 4px 12px rgba(0, 0, 0, 0.3);
  z-index: 30;
  max-width: 560px;
}
`;
