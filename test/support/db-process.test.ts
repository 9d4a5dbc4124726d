// Throwaway servers must never outlive the test run nor leave their files behind. A node process
// that sleeps stands in for a database server here.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWatched, sweepStaleRunDirs } from './db-process';

const SLEEPER = ['-e', 'setInterval(() => {}, 1000)'];

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `done()` holds; the deadline only bounds a failing test. */
async function eventually(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(50);
  assert.ok(done(), what);
}

function serverPid(dir: string): number {
  return Number(readFileSync(join(dir, 'server.pid'), 'utf8').split(' ')[0]);
}

describe('test database processes', () => {
  let base: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'ks-process-test-'));
  });

  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  });

  it('stop() stops a watched server and deletes its directory', async () => {
    const dir = join(base, 'server');
    mkdirSync(dir);
    const server = startWatched({ dir, argv: [process.execPath, ...SLEEPER], stopSignal: 'SIGTERM' });
    await eventually('the watchdog records the server pid', () => existsSync(join(dir, 'server.pid')));
    const pid = serverPid(dir);
    assert.equal(isAlive(pid), true);
    await server.stop();
    assert.equal(server.running(), false);
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync(dir), false);
  });

  it('a watched server dies with the process that started it, even on SIGKILL', async () => {
    const dir = join(base, 'server');
    mkdirSync(dir);
    const script = `
      const { startWatched } = require(process.argv[1]);
      startWatched({ dir: process.argv[2], argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], stopSignal: 'SIGTERM' });
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '-e', script, require.resolve('./db-process'), dir], {
      stdio: 'ignore',
    });
    children.push(owner);
    await eventually('the server started', () => existsSync(join(dir, 'server.pid')));
    const pid = serverPid(dir);
    assert.equal(isAlive(pid), true);
    owner.kill('SIGKILL');
    await eventually('the server stopped', () => !isAlive(pid));
    await eventually('its directory is gone', () => !existsSync(dir));
  });

  it('the sweep stops servers in run dirs of dead processes and removes them, and leaves the rest', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    assert.equal(isAlive(deadPid), false);
    const stale = join(base, `knex-scopes-${deadPid}`);
    const live = join(base, `knex-scopes-${process.ppid}`);
    for (const dir of [join(stale, 'pg'), join(stale, 'mysql'), live]) mkdirSync(dir, { recursive: true });

    // An orphan server whose command line names its directory, and a stranger that got a
    // recorded pid (a recycled pid): only the first is stopped.
    const orphan = spawn(process.execPath, [...SLEEPER, join(stale, 'pg')], { stdio: 'ignore' });
    const stranger = spawn(process.execPath, SLEEPER, { stdio: 'ignore' });
    children.push(orphan, stranger);
    writeFileSync(join(stale, 'pg', 'server.pid'), `${orphan.pid} SIGTERM\n`);
    writeFileSync(join(stale, 'mysql', 'server.pid'), `${stranger.pid} SIGTERM\n`);

    const swept = await sweepStaleRunDirs([base]);
    assert.deepEqual(swept, [stale]);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(live), true);
    await eventually('the orphan server stopped', () => !isAlive(orphan.pid!));
    assert.equal(isAlive(stranger.pid!), true);
  });
});
