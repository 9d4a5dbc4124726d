// Throwaway server processes that cannot outlive the test run: each server runs under a small
// bash watchdog whose stdin is a pipe from this process. When this process ends, however it ends
// (even SIGKILL), the pipe closes, the watchdog stops the server and deletes its data directory.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const RUN_DIR_PREFIX = 'knex-scopes-';
/** Memory-backed on Linux; where SQLite files go when it is writable. */
export const SHM = '/dev/shm';

/** This process's scratch directory under `base`, created world-traversable for service users. */
export function runDir(base: string = tmpdir()): string {
  const dir = join(base, `${RUN_DIR_PREFIX}${process.pid}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** The run dirs this process may have made (under the temp dir and under /dev/shm). */
export function ownRunDirs(): string[] {
  return [...new Set([tmpdir(), SHM])].map((base) => join(base, `${RUN_DIR_PREFIX}${process.pid}`));
}

/** A directory inside the run dir that `owner` (a service user, when we are root) may write. */
export function serverDir(name: string, owner: ServiceUser | undefined): string {
  const dir = join(runDir(), name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** Deletes run dirs of test processes that are gone, stopping any server still running in one. */
export async function sweepStaleRunDirs(bases: readonly string[]): Promise<string[]> {
  const swept: string[] = [];
  for (const base of bases) {
    let entries: string[];
    try {
      entries = readdirSync(base);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const owner = new RegExp(`^${RUN_DIR_PREFIX}(\\d+)$`).exec(entry);
      if (!owner || Number(owner[1]) === process.pid || isAlive(Number(owner[1]))) continue;
      const dir = join(base, entry);
      try {
        for (const sub of readdirSync(dir)) await stopOrphan(join(dir, sub));
        rmSync(dir, { recursive: true, force: true });
        swept.push(dir);
      } catch {
        // Someone else's directory (EPERM) or a concurrent sweep: leave it.
      }
    }
  }
  return swept;
}

// The watchdog records "<pid> <signal>"; only a process whose command line names the directory
// is signalled, so a recycled pid is never hit.
async function stopOrphan(dir: string): Promise<void> {
  const record = join(dir, 'server.pid');
  if (!existsSync(record)) return;
  const [pidText, signal] = readFileSync(record, 'utf8').trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return; // gone meanwhile, or no /proc: nothing we may safely kill
  }
  if (!cmdline.includes(dir)) return;
  process.kill(pid, (signal ?? 'SIGTERM') as NodeJS.Signals);
  for (let i = 0; i < 60 && isAlive(pid); i++) await sleep(50);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A system account a server runs as when we are root (PostgreSQL refuses to run as root). */
export interface ServiceUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** `name` from /etc/passwd when running as root; undefined otherwise (servers run as us). */
export function serviceUser(name: string): ServiceUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** Command prefix that runs the rest of argv as `user` (nothing when not root). */
export function asUser(user: ServiceUser | undefined): string[] {
  return user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--'] : [];
}

/** Runs a command to completion; the error carries its output. */
export function runCommand(argv: readonly string[], cwd: string): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(file!, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')} failed: ${error.message}\n${stdout}${stderr}`.trim()));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// $1 directory to delete afterwards, $2 stop signal, $3 log file, then the server's argv.
const WATCHDOG = `
dir=$1 sig=$2 log=$3; shift 3
exec 3<&0
"$@" </dev/null >>"$log" 2>&1 3<&- &
server=$!
echo "$server $sig" >"$dir/server.pid"
{ while read -r _; do :; done; kill -s "$sig" "$server" 2>/dev/null; } <&3 &
watcher=$!
exec 3<&-
wait "$server"
code=$?
kill "$watcher" 2>/dev/null
rm -rf -- "$dir"
rmdir -- "\${dir%/*}" 2>/dev/null
exit "$code"
`;

export interface WatchedServer {
  /** Resolves with the watchdog's exit code once the server has stopped and its dir is gone. */
  readonly exited: Promise<number | null>;
  running(): boolean;
  /** The end of the server's log, for error messages. */
  logTail(): string;
  /** Stops the server (its stop signal, then SIGKILL after a grace period) and deletes its dir. */
  stop(): Promise<void>;
}

export interface WatchedServerOptions {
  /** Deleted when the server stops. */
  readonly dir: string;
  readonly argv: readonly string[];
  readonly stopSignal: NodeJS.Signals;
}

export function startWatched({ dir, argv, stopSignal }: WatchedServerOptions): WatchedServer {
  const log = join(dir, 'server.log');
  // detached: a Ctrl-C in the terminal reaches mocha only; the servers stop through the pipe.
  const child: ChildProcess = spawn('bash', ['-c', WATCHDOG, 'knex-scopes-watchdog', dir, stopSignal, log, ...argv], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  let alive = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      alive = false;
      resolve(code);
    });
    child.once('error', () => {
      alive = false;
      resolve(null);
    });
  });
  // Neither the child nor its pipe keeps the event loop alive: closing the pipe is the stop.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    exited,
    running: () => alive,
    logTail: () => tail(log, 3000),
    async stop() {
      if (!alive) return;
      child.stdin?.end();
      const timer = setTimeout(() => killGroup(child), 15_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function tail(file: string, bytes: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(bytes);
      const size = readSync(fd, buffer, 0, bytes, Math.max(0, statSync(file).size - bytes));
      return buffer.subarray(0, size).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '(no server log)';
  }
}

/** Polls `probe` until it succeeds; fails early when the server exits, with its log. */
export async function waitUntilReady(
  server: WatchedServer,
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!server.running()) throw new Error(`${what} exited during startup:\n${server.logTail()}`);
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      await sleep(50);
    }
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms (${String(lastError)}):\n${server.logTail()}`);
}
