/**
 * The Windows service host (native/service-host). Its logic, compiled natively with a scripted fake platform
 * (build/service-host-check), must make exactly the SCM status reports, stop request, bounded wait and job
 * termination described in docs/windows.md "Service host". Under Wine (when wine64 and mingw-w64 are present)
 * the real switchyard-service.exe runs in Wine's service control manager: created with sc.exe, started, its
 * child (service-test-child.exe, standing in for node.exe) runs with the configured argv and the stdin stop
 * mechanism, stop ends the child gracefully, a child that ignores the stop is killed with its job, a crash
 * is logged, killing the host kills the child (kill-on-close), and delete removes the service.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NATIVE_BUILD, WinePrefix, wineUnavailable } from '../helpers/wine';

const CHECK = path.join(NATIVE_BUILD, 'service-host-check');
const check = (scenario: string) => {
  const r = spawnSync(CHECK, [scenario], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
};
const CMDLINE =
  '"C:\\Program Files\\nodejs\\node.exe" "C:\\Program Files\\Switchyard\\dist\\src\\cli\\main.js" agent --config "C:\\ProgramData\\My \\"Cluster\\"\\agent.yaml" ""';

describe('service host: logic over a fake SCM/job/process layer (native build)', function () {
  before(function () {
    if (!fs.existsSync(CHECK)) this.skip();
  });

  it('graceful stop: START_PENDING, spawn with the quoted command line, RUNNING, stop → "stop" on stdin, STOPPED 0', () => {
    assert.deepEqual(check('graceful'), [
      'status START_PENDING win32=0 specific=0 hint=10000',
      `spawn program=[C:\\Program Files\\nodejs\\node.exe] cmdline=[${CMDLINE}] output=[C:\\ProgramData\\Switchyard\\logs\\agent.log]`,
      `log start: agent pid 4242: ${CMDLINE}`,
      'status RUNNING win32=0 specific=0 hint=0',
      'wait stop=1 timeout=forever -> STOP_REQUESTED',
      'log stop: requested by the service control manager; asking agent pid 4242 to stop (timeout 5000 ms)',
      'status STOP_PENDING win32=0 specific=0 hint=4000',
      'request_stop',
      'wait stop=0 timeout=2000 -> TIMEOUT',
      'status STOP_PENDING win32=0 specific=0 hint=4000',
      'wait stop=0 timeout=2000 -> CHILD_EXITED',
      'log stopped: agent pid 4242 exited with code 0',
      'release',
      'status STOPPED win32=0 specific=0 hint=0',
      'returned 0',
    ]);
  });

  it('a non-zero exit after the stop is reported as a service-specific error carrying the code', () => {
    const out = check('graceful-nonzero');
    assert.equal(out.at(-2), 'status STOPPED win32=1066 specific=2 hint=0');
  });

  it('an agent that ignores the stop is given stop-timeout-ms (in re-reported slices), then its job is terminated', () => {
    const out = check('hung');
    const after = out.slice(out.indexOf('request_stop'));
    assert.deepEqual(after, [
      'request_stop',
      'wait stop=0 timeout=2000 -> TIMEOUT',
      'status STOP_PENDING win32=0 specific=0 hint=4000',
      'wait stop=0 timeout=2000 -> TIMEOUT',
      'status STOP_PENDING win32=0 specific=0 hint=4000',
      'wait stop=0 timeout=1000 -> TIMEOUT',
      'status STOP_PENDING win32=0 specific=0 hint=4000',
      'log stop: agent pid 4242 did not exit within 5000 ms; terminating its job',
      'terminate 1460',
      'wait stop=0 timeout=5000 -> CHILD_EXITED',
      'log stopped: agent pid 4242 exited with code 1460',
      'release',
      'status STOPPED win32=1066 specific=1460 hint=0',
      'returned 1460',
    ]);
  });

  it('a crash while running is logged and reported with the exit code (so SCM recovery restarts it)', () => {
    const out = check('crash');
    assert.ok(out.includes('log crash: agent pid 4242 exited with code 3221225477 (0xC0000005) while running'), out.join('\n'));
    assert.ok(!out.includes('request_stop'));
    assert.equal(out.at(-2), 'status STOPPED win32=1066 specific=3221225477 hint=0');
  });

  it('a child that cannot start ends the service with the Win32 error and a log line', () => {
    const out = check('spawn-fails');
    assert.match(
      out.find((l) => l.startsWith('log '))!,
      /^log start failed: CreateProcessW: .* \(error 2\): "C:\\Program Files/,
    );
    assert.ok(!out.some((l) => l.startsWith('status RUNNING')));
    assert.equal(out.at(-2), 'status STOPPED win32=2 specific=0 hint=0');
  });

  it('refuses bad configuration files naming the line and key', () => {
    assert.deepEqual(check('conf-errors'), [
      '-1 no program= line',
      '-1 line 1: program is empty',
      '-1 line 2: stop-timeout-ms "soon" must be a whole number of milliseconds, 1..600000',
      '-1 line 2: stop-timeout-ms "0" must be a whole number of milliseconds, 1..600000',
      '-1 line 2: stop-timeout-ms "600001" must be a whole number of milliseconds, 1..600000',
      '-1 line 2: unknown key "mystery"',
      '-1 line 2: expected key=value',
      '-1 program "C:\\x"y.exe" contains a quote, which a Windows command line cannot carry',
    ]);
  });
});

/** Linux pids of this prefix's Wine processes whose command line contains `needle`. */
function pidsWith(needle: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

// Wine starts services slowly on a loaded machine: a generous bound, never a timing assertion.
async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (ok()) return;
  assert.fail(`timed out waiting for ${what}`);
}

describe("service host under Wine: Wine's SCM runs switchyard-service.exe", function () {
  this.timeout(240_000);
  let wine: WinePrefix;
  let sy: string;
  const read = (f: string) => (fs.existsSync(path.join(sy, f)) ? fs.readFileSync(path.join(sy, f), 'utf8').replace(/\r/g, '') : '');
  const sc = (...args: string[]) => wine.run(['sc.exe', ...args]);
  const state = (name: string) => /STATE\s+:\s+\d+\s+(\w+)/.exec(sc('query', name).stdout)?.[1];

  function conf(name: string, childArgs: string[], timeoutMs = 1500): void {
    const lines = [
      '# test configuration',
      'program=C:\\sy\\service-test-child.exe',
      `arg=C:\\sy\\${name}.marker`,
      ...childArgs.map((a) => `arg=${a}`),
      `log=C:\\sy\\${name}-host.log`,
      `output=C:\\sy\\${name}-agent.log`,
      `stop-timeout-ms=${timeoutMs}`,
    ];
    fs.writeFileSync(path.join(sy, `${name}.conf`), lines.join('\r\n') + '\r\n');
    const r = sc(
      'create',
      name,
      'binPath=',
      `"C:\\sy\\dir with space\\switchyard-service.exe" --conf C:\\sy\\${name}.conf`,
      'start=',
      'demand',
    );
    assert.equal(r.code, 0, `sc create ${name}: ${r.stdout}${r.stderr}`);
  }

  before(function () {
    const why = wineUnavailable('switchyard-service.exe', 'service-test-child.exe');
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    wine = new WinePrefix();
    wine.init();
    sy = path.join(wine.driveC, 'sy');
    fs.mkdirSync(path.join(sy, 'dir with space'), { recursive: true });
    fs.copyFileSync(path.join(NATIVE_BUILD, 'switchyard-service.exe'), path.join(sy, 'dir with space', 'switchyard-service.exe'));
    fs.copyFileSync(path.join(NATIVE_BUILD, 'service-test-child.exe'), path.join(sy, 'service-test-child.exe'));
  });
  after(() => wine?.dispose());

  it('create, start (the child runs with its argv and the stdin stop mechanism), stop (graceful), delete', async () => {
    conf('sygood', ['with space "quoted"', 'C:\\trailing\\', '--exit-code', '0']);
    assert.equal(state('sygood'), 'STOPPED');
    assert.equal(sc('start', 'sygood').code, 0);
    await until('the child to start', () => read('sygood.marker').includes('started'));
    assert.equal(state('sygood'), 'RUNNING');
    const marker = read('sygood.marker').split('\n');
    assert.match(marker[0], /^started pid=\d+ stop=stdin argc=6$/);
    assert.deepEqual(marker.slice(1, 6), [
      'arg[1]=C:\\sy\\sygood.marker',
      'arg[2]=with space "quoted"',
      'arg[3]=C:\\trailing\\',
      'arg[4]=--exit-code',
      'arg[5]=0',
    ]);
    await until('the child output in its log', () => read('sygood-agent.log').includes('test-child: running'));

    assert.equal(sc('stop', 'sygood').code, 0);
    await until('STOPPED', () => state('sygood') === 'STOPPED');
    assert.match(read('sygood.marker'), /\nstopping\n/, 'the child got "stop" on stdin');
    const log = read('sygood-host.log');
    assert.match(
      log,
      /switchyard-service\[\d+\]: start: agent pid \d+: C:\\sy\\service-test-child\.exe C:\\sy\\sygood\.marker "with space \\"quoted\\"" C:\\trailing\\ --exit-code 0\n/,
    );
    assert.match(log, /stop: requested by the service control manager/);
    assert.match(log, /stopped: agent pid \d+ exited with code 0\n/);
    assert.deepEqual(pidsWith('sygood.marker'), [], 'the child is gone');

    assert.equal(sc('delete', 'sygood').code, 0);
    assert.notEqual(sc('query', 'sygood').code, 0, 'the service no longer exists');
  });

  it('a child that ignores the stop is terminated with its job after stop-timeout-ms', async () => {
    conf('syhung', ['--ignore-stop'], 1500);
    assert.equal(sc('start', 'syhung').code, 0);
    await until('the child to start', () => read('syhung.marker').includes('started'));
    assert.equal(pidsWith('syhung.marker').length, 1);
    assert.equal(sc('stop', 'syhung').code, 0);
    await until('STOPPED', () => state('syhung') === 'STOPPED');
    assert.match(
      read('syhung-host.log'),
      /did not exit within 1500 ms; terminating its job\n.*stopped: agent pid \d+ exited with code 1460\n/,
    );
    assert.doesNotMatch(read('syhung.marker'), /stopping/);
    await until('the child to be gone', () => pidsWith('syhung.marker').length === 0);
    sc('delete', 'syhung');
  });

  it('a crash of the child is logged with its exit code and the service stops', async () => {
    conf('sycrash', ['--crash-after-ms', '300', '--exit-code', '3']);
    assert.equal(sc('start', 'sycrash').code, 0);
    await until('STOPPED', () => read('sycrash-host.log').includes('crash:') && state('sycrash') === 'STOPPED');
    assert.match(read('sycrash-host.log'), /crash: agent pid \d+ exited with code 3 \(0x00000003\) while running\n/);
    sc('delete', 'sycrash');
  });

  it('a log over 10 MiB is rotated to .1 when the service starts', async () => {
    conf('syrot', []);
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x61);
    fs.writeFileSync(path.join(sy, 'syrot-agent.log'), big);
    assert.equal(sc('start', 'syrot').code, 0);
    await until('the child output in the new log', () => read('syrot-agent.log').includes('test-child: running'));
    assert.equal(fs.statSync(path.join(sy, 'syrot-agent.log.1')).size, big.length);
    assert.equal(sc('stop', 'syrot').code, 0);
    await until('STOPPED', () => state('syrot') === 'STOPPED');
    sc('delete', 'syrot');
  });

  it('a bad configuration file stops the service at once and is reported in service-host.log beside it', async () => {
    fs.writeFileSync(path.join(sy, 'sybad.conf'), 'program=C:\\sy\\service-test-child.exe\r\nmystery=1\r\n');
    assert.equal(sc('create', 'sybad', 'binPath=', 'C:\\sy\\dir with space\\switchyard-service.exe --conf C:\\sy\\sybad.conf').code, 0);
    sc('start', 'sybad');
    await until(
      'the error in the log',
      () => read('service-host.log').includes('sybad') || read('service-host.log').includes('unknown key'),
    );
    assert.match(read('service-host.log'), /start failed: configuration file: line 2: unknown key "mystery"\n/);
    await until('STOPPED', () => state('sybad') === 'STOPPED');
    sc('delete', 'sybad');
  });

  it('killing the host process kills the child (job object with kill-on-close)', async () => {
    conf('sykill', ['--ignore-stop']);
    assert.equal(sc('start', 'sykill').code, 0);
    await until('the child to start', () => read('sykill.marker').includes('started'));
    const hosts = pidsWith('sykill.conf');
    assert.equal(hosts.length, 1, 'one host process');
    assert.equal(pidsWith('sykill.marker').length, 1, 'one child process');
    process.kill(hosts[0], 'SIGKILL');
    await until('the child to be gone', () => pidsWith('sykill.marker').length === 0);
    sc('delete', 'sykill');
  });
});
