import { readdir, readFile, readlink } from 'node:fs/promises';

export interface HostProcess {
  pid: number;
  ppid: number;
  args: string[];
  /** Its name in the kernel (/proc/PID/comm, as stat shows it). */
  comm: string;
  /** The executable as the process sees it (a host path when the process runs on the host). */
  exe: string | undefined;
  /** PATH from its environment: where containerd looks up shims. */
  path: string | undefined;
}

async function readProcess(procRoot: string, pid: number): Promise<HostProcess | undefined> {
  try {
    const dir = `${procRoot}/${pid}`;
    const [cmdline, stat] = await Promise.all([
      readFile(`${dir}/cmdline`, 'utf8'),
      readFile(`${dir}/stat`, 'utf8'),
    ]);
    const args = cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
    // stat is "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    const exe = await readlink(`${dir}/exe`).catch(() => undefined);
    const environ = await readFile(`${dir}/environ`, 'utf8').catch(() => '');
    const path = environ
      .split('\0')
      .find((e) => e.startsWith('PATH='))
      ?.slice(5);
    return { pid, ppid, args, comm, exe: exe?.replace(/ \(deleted\)$/, ''), path };
  } catch {
    return undefined; // exited while we looked
  }
}

/** Processes of the node, read from /proc (the host's, with `hostPID: true`). */
export async function listHostProcesses(procRoot = '/proc'): Promise<HostProcess[]> {
  const pids = (await readdir(procRoot)).filter((d) => /^\d+$/.test(d)).map(Number);
  const procs = await Promise.all(pids.map((pid) => readProcess(procRoot, pid)));
  return procs.filter((p): p is HostProcess => p !== undefined && p.args.length > 0);
}

/**
 * A file as process `pid` sees it, through its mount namespace (/proc/PID/root): what crun
 * started by that containerd will see, which need not be what the host's own mounts show.
 */
export async function readAsSeenBy(
  pid: number,
  path: string,
  procRoot = '/proc',
): Promise<string | undefined> {
  try {
    return await readFile(`${procRoot}/${pid}/root${path}`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The boot ID the node's kubelet reports: read as PID 1 sees it, since a container's fresh
 * /proc shows the kernel's own, which systemd-nspawn machines replace with one per boot.
 */
export async function nodeBootId(procRoot = '/proc'): Promise<string | undefined> {
  const path = '/proc/sys/kernel/random/boot_id';
  const id =
    (await readAsSeenBy(1, path, procRoot).catch(() => undefined)) ??
    (await readFile(path, 'utf8').catch(() => undefined));
  return id?.trim();
}
