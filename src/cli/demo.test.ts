import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from './main.js';

// The elastic demo as a user runs it: the real CLI in a child process, which starts the
// registry, a process pool of instances and the load. Nothing here asserts timing; the
// demo's phases are wall-clock, so the run takes ~30 s whatever the machine.
const bin = fileURLToPath(new URL('../../bin/tensile.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `tensile demo ...`; `onOutput` sees stdout so far and may act on the child. */
function demo(
  args: string[],
  timeoutMs: number,
  onOutput?: (out: string, child: ChildProcess) => void,
  /** In its own process group, so a test can signal it and its instances as a terminal does. */
  detached = false,
) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'demo', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached,
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
      onOutput?.(stdout, child);
    });
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tensile demo ${args.join(' ')} timed out; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pids the demo reports having started; none may outlive it. */
function reportedPids(stdout: string): number[] {
  const m = /processes: (\d+) started, .*\(pids ([\d ]*)\)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  const pids = m![2]!.trim().split(' ').filter(Boolean).map(Number);
  expect(pids.length).toBe(Number(m![1]));
  return pids;
}

describe('tensile demo', () => {
  it('rejects bad flags with exit 2 and says why, before starting anything', async () => {
    // In-process (the child-process path is covered by the runs below): a parse error starts nothing.
    const run = async (...args: string[]) => {
      const text = { out: '', err: '' };
      const sink = (key: keyof typeof text) =>
        new Writable({
          write(chunk, _encoding, done) {
            text[key] += chunk;
            done();
          },
        });
      const io = { out: sink('out'), err: sink('err'), interrupted: new Promise<void>(() => {}) };
      const code = await main(['demo', ...args], io);
      return { code, ...text };
    };
    const bad: [string[], string][] = [
      [['--bogus'], "Unknown option '--bogus'"],
      [['--peak', 'lots'], '--peak must be a number between 1 and 100, got "lots"'],
      [['--min', '4', '--max', '2'], '--max (2) must be at least --min (4)'],
      [['--duration', '2m', '--scale', '2'], 'give --duration or --scale, not both'],
      [['--target-p99', 'soon'], '--target-p99 must be a duration'],
      [['--registry-port', '70000'], '--registry-port must be an integer between 0 and 65535'],
      [['extra'], 'Unexpected argument'],
    ];
    for (const [args, message] of bad) {
      const r = await run(...args);
      expect([r.code, r.err, r.out]).toEqual([2, expect.stringContaining(message), '']);
    }
    const help = await run('--help');
    expect(help.code).toBe(0);
    for (const flag of [
      '--quick',
      '--duration',
      '--scale',
      '--peak',
      '--target-inflight',
      '--target-p99',
      '--min',
      '--max',
    ])
      expect(help.out).toContain(flag);
  });

  it('--quick scales out under the 10x step and back in, with no failed call and no process left', {
    timeout: 60_000,
  }, async () => {
    const run = await demo(['--quick'], 55_000);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\/$/m);
    // Every phase is announced, and progress comes as plain lines (stdout is not a TTY).
    for (const phase of ['warm-up', 'ramp-up', 'peak', 'ramp-down', 'cool-down'])
      expect(out).toContain(`── ${phase}:`);
    expect(out).toMatch(/offered +\d+\/s +achieved +\d+\/s +ready \d+ +starting \d+ +desired \d+/);
    expect(out).not.toContain('\x1b[');
    // Decisions are printed with their reasons.
    expect(out).toMatch(/▲ scale out {2}1 → \d+: inflight .* vs target 4\.80/);
    expect(out).toMatch(/▼ scale in {2}\d+ → \d+: /);
    const max = Number(/replicas +max (\d+) ready, (\d+) at the end/.exec(out)?.[1]);
    const end = Number(/replicas +max \d+ ready, (\d+) at the end/.exec(out)?.[1]);
    expect(max).toBeGreaterThan(1);
    expect(end).toBeLessThan(max);
    expect(out).toMatch(/calls +[\d,]+ sent, [\d,]+ ok, 0 failed/);
    expect(out).toMatch(/scale events +[1-9]\d* out, [1-9]\d* in/);
    for (const phase of ['warm-up', 'peak', 'cool-down'])
      expect(out).toMatch(new RegExp(`^ +${phase} .* ms`, 'm'));
    expect(out).toContain('processes: ');
    expect(reportedPids(out).filter(alive)).toEqual([]);
  });

  it('stops cleanly on SIGINT: drains, stops every instance, still prints the summary', {
    timeout: 40_000,
  }, async () => {
    let sent = false;
    const run = await demo(['--quick'], 35_000, (out, child) => {
      // Interrupt once load is flowing through the fleet.
      if (!sent && /^ +([2-9]|\d\d)s /m.test(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/interrupted at \d+ s: draining/);
    expect(run.stdout).toMatch(/calls +[\d,]+ sent, [\d,]+ ok, 0 failed/);
    expect(run.stdout).toContain('no failed calls (interrupted)');
    const pids = reportedPids(run.stdout);
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('stops at once on a Ctrl-C while starting: no instance replaced, none left, exit 130', {
    timeout: 40_000,
  }, async () => {
    let sent = false;
    const run = await demo(
      ['--quick'],
      35_000,
      (out, child) => {
        if (!sent && out.includes('starting the embedded registry')) {
          sent = true;
          // The whole group, as a terminal's Ctrl-C: the booting instances get it too.
          process.kill(-child.pid!, 'SIGINT');
        }
      },
      true,
    );
    expect(sent).toBe(true);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(130);
    expect(run.stdout).toContain('interrupted while starting');
    expect(run.stdout).not.toContain('exited unexpectedly');
    expect(run.stdout).not.toContain('── warm-up');
    expect(reportedPids(run.stdout).filter(alive)).toEqual([]);
  });
});
