import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** One field of /proc/<pid>/smaps_rollup, in kB (0 when the process is gone). */
function rollupKb(pid: number, field: 'Pss' | 'Rss'): number {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * Every process working for a share's backend: upterm runs in its share's HOME under the state
 * dir, and so do its reaper, the reaper's tee and the tmux client it hosts (they inherit the cwd).
 */
export function backendProcesses(workersDir: string): { pid: number; upterm: boolean }[] {
  const found: { pid: number; upterm: boolean }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readlinkSync(`/proc/${name}/cwd`).startsWith(`${workersDir}/`)) continue;
    } catch {
      continue;
    }
    const cmd = cmdline(Number(name));
    found.push({ pid: Number(name), upterm: (cmd[0]?.endsWith('/upterm') ?? false) && cmd[1] === 'host' });
  }
  return found;
}

/** Total PSS (proportional set size: shared pages split between their users) of the processes, in MB. */
export function pssMb(pids: number[]): number {
  return pids.reduce((sum, p) => sum + rollupKb(p, 'Pss'), 0) / 1024;
}

/** CPU seconds of this process, with its reaped children (the short-lived `tmux`/`upterm` runs it spawns). */
export function cpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime stime cutime cstime: fields 14-17 of the file, 12-15 after the command.
  const ticks = [11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0);
  return ticks / 100;
}

/** The 1-minute load average and the CPUs, to put a run's numbers in context. */
export function load(): { load1: number; cpus: number } {
  const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const cpus = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
  return { load1, cpus };
}
