import type { Snapshot } from './escapeWorld.ts';

/**
 * The 30 ways out of a shared tmux terminal (issue 10), as the bytes a guest types, each with the
 * trace it leaves if it went through. `m(id)` is the path of that path's marker file.
 */
export type EscapePath = {
  id: string;
  label: string;
  /** Typed one segment at a time: a key binding (the prefix and its key) opens before what follows is typed. */
  bytes: (m: (id: string) => string, conf: string) => string[];
  /** What changed if the path went through; undefined when it held. */
  breach: (before: Snapshot, after: Snapshot) => string | undefined;
};

const P = '\x02';
const prompt = (cmd: string) => [`${P}:`, `${cmd}\r`];
const DOWN = '\x1b[B';

const marker = (id: string) => (_b: Snapshot, a: Snapshot) => (a.markers.includes(id) ? `marker ${id} created: a command ran` : undefined);
const onOther = (_b: Snapshot, a: Snapshot) => (a.clients.some((c) => c.session !== 'work') ? `a client is on ${a.clients.find((c) => c.session !== 'work')!.session}` : undefined);
const windowsChanged = (b: Snapshot, a: Snapshot) => (a.windows.join('|') !== b.windows.join('|') ? `windows ${b.windows.join(', ')} -> ${a.windows.join(', ')}` : undefined);
const sessionsChanged = (b: Snapshot, a: Snapshot) => (a.sessions.join('|') !== b.sessions.join('|') ? `sessions ${b.sessions.join(', ')} -> ${a.sessions.join(', ')}` : undefined);
const operatorGone = (_b: Snapshot, a: Snapshot) => (a.clients.some((c) => c.tty === a.operatorTty && c.session === 'work') ? undefined : 'the operator was detached or moved');
const any = (...checks: EscapePath['breach'][]): EscapePath['breach'] => (b, a) => checks.map((c) => c(b, a)).find(Boolean);

export const ESCAPE_PATHS: EscapePath[] = [
  { id: 'P01', label: 'prefix : run-shell "cmd"', bytes: (m) => prompt(`run-shell "touch ${m('P01')}"`), breach: marker('P01') },
  { id: 'P02', label: 'prefix : new-window "cmd"', bytes: (m) => prompt(`new-window "touch ${m('P02')}"`), breach: any(marker('P02'), windowsChanged) },
  { id: 'P03', label: 'prefix : send-keys -t other', bytes: (m) => prompt(`send-keys -t =other: "touch ${m('P03')}" Enter`), breach: marker('P03') },
  { id: 'P04', label: 'prefix : switch-client -t other', bytes: () => prompt('switch-client -t =other'), breach: onOther },
  { id: 'P05', label: 'prefix : attach -t other', bytes: () => prompt('attach-session -t =other'), breach: onOther },
  { id: 'P06', label: 'prefix : kill-session -t other', bytes: () => prompt('kill-session -t =other'), breach: sessionsChanged },
  { id: 'P07', label: 'prefix : kill-server', bytes: () => prompt('kill-server'), breach: (_b, a) => (a.serverUp ? undefined : 'the tmux server is gone') },
  { id: 'P08', label: 'prefix : source-file', bytes: (_m, conf) => prompt(`source-file ${conf}`), breach: marker('P08') },
  { id: 'P09', label: 'prefix : set-hook -g', bytes: (m) => prompt(`set-hook -g after-select-pane "run-shell 'touch ${m('P09')}'"`), breach: (b, a) => (a.hooks !== b.hooks ? 'a global hook was set' : undefined) },
  { id: 'P10', label: 'prefix : detach-client -a', bytes: () => prompt('detach-client -a'), breach: operatorGone },
  { id: 'P11', label: 'prefix : resize-window', bytes: () => prompt('resize-window -x 30 -y 10'), breach: windowsChanged },
  { id: 'P12', label: 'prefix : display-message "#(cmd)"', bytes: (m) => prompt(`display-message "#(touch ${m('P12')})"`), breach: marker('P12') },
  { id: 'P13', label: 'prefix : if-shell "cmd"', bytes: (m) => prompt(`if-shell "touch ${m('P13')}" ""`), breach: marker('P13') },
  { id: 'P14', label: 'prefix : set-option -g', bytes: () => prompt('set-option -g @pwned yes'), breach: (_b, a) => (a.pwnedOption ? 'a global option was set' : undefined) },
  { id: 'P15', label: 'prefix : pipe-pane "cmd"', bytes: (m) => prompt(`pipe-pane "touch ${m('P15')}"`), breach: marker('P15') },
  { id: 'P16', label: 'prefix : respawn-pane -k "cmd"', bytes: (m) => prompt(`respawn-pane -k "touch ${m('P16')}"`), breach: marker('P16') },
  { id: 'P17', label: 'prefix : new-session -d', bytes: () => prompt('new-session -d -s pwned'), breach: sessionsChanged },
  { id: 'P18', label: 'prefix s (choose-tree sessions), pick another', bytes: () => [`${P}s`, DOWN, '\r'], breach: onOther },
  { id: 'P19', label: 'prefix w (choose-tree windows), pick another', bytes: () => [`${P}w`, DOWN, DOWN, '\r'], breach: onOther },
  { id: 'P20', label: 'prefix D (choose-client), detach one', bytes: () => [`${P}D`, '\r'], breach: operatorGone },
  { id: 'P21', label: 'prefix ( (previous session)', bytes: () => [`${P}(`], breach: onOther },
  { id: 'P22', label: 'prefix ) (next session)', bytes: () => [`${P})`], breach: onOther },
  { id: 'P23', label: 'prefix c (new window)', bytes: () => [`${P}c`], breach: windowsChanged },
  { id: 'P24', label: 'prefix % (split)', bytes: () => [`${P}%`], breach: windowsChanged },
  { id: 'P25', label: 'prefix z (zoom)', bytes: () => [`${P}z`], breach: windowsChanged },
  { id: 'P26', label: 'prefix ! (break-pane)', bytes: () => [`${P}!`], breach: windowsChanged },
  { id: 'P27', label: 'prefix x y (kill-pane)', bytes: () => [`${P}x`, 'y'], breach: any(windowsChanged, sessionsChanged) },
  { id: 'P28', label: 'prefix & y (kill-window)', bytes: () => [`${P}&`, 'y'], breach: any(windowsChanged, sessionsChanged) },
  // Right button on the pane opens the pane menu; `h` in it splits the pane.
  { id: 'P29', label: 'mouse: right-click pane menu, split', bytes: () => ['\x1b[<2;10;5M', '\x1b[<2;10;5m', 'h'], breach: windowsChanged },
];

/** The 30th: the guest's own detach (prefix d) leaves the guest alone; nobody else is detached. */
export const LEAVE_PATH = { id: 'P30', label: 'prefix d (detach)', bytes: `${P}d` };
