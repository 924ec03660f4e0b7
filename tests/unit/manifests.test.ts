/**
 * The deployment files in manifests/: every Kubernetes object is valid against the Kubernetes OpenAPI
 * schema (kubernetes-models' validators are generated from it), the overlays render with kustomize
 * (kubectl's built-in one), the DaemonSets have what a node agent needs on each OS, and the systemd unit
 * passes `systemd-analyze verify`.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(__dirname, '../../..');
const manifests = path.join(root, 'manifests');

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function validateAgainstSchema(obj: K8sObject): void {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;

  const mod = require(modulePath) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  assert.ok(Model, `no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

function loadYaml(file: string): K8sObject[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as K8sObject)
    .filter((d) => d && typeof d === 'object');
}

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

function kustomize(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

function find(objs: K8sObject[], kind: string, name: string): any {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is missing`);
  return o;
}

describe('manifests', () => {
  const baseFiles = fs.readdirSync(path.join(manifests, 'base')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  const base = baseFiles.flatMap((f) => loadYaml(path.join(manifests, 'base', f)));

  it('every base object is valid against the Kubernetes schema', () => {
    assert.ok(base.length >= 7, `expected the namespace, RBAC, ConfigMap and two DaemonSets, got ${base.length} objects`);
    for (const obj of base) {
      try {
        validateAgainstSchema(obj);
      } catch (e) {
        assert.fail(`${obj.kind}/${obj.metadata?.name}: ${(e as Error).message}`);
      }
    }
  });

  it('a deliberately wrong object is refused (the validation can fail)', () => {
    const ds = structuredClone(find(base, 'DaemonSet', 'switchyard-agent-linux'));
    ds.spec.template.spec.hostNetwork = 'yes';
    assert.throws(() => validateAgainstSchema(ds), /hostNetwork/);
  });

  it('the Windows DaemonSet is a HostProcess pod as SYSTEM on the host network of Windows nodes', () => {
    const ds = find(base, 'DaemonSet', 'switchyard-agent-windows');
    const spec = ds.spec.template.spec;
    assert.equal(spec.securityContext.windowsOptions.hostProcess, true);
    assert.equal(spec.securityContext.windowsOptions.runAsUserName, 'NT AUTHORITY\\SYSTEM');
    assert.equal(spec.hostNetwork, true);
    assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/os': 'windows' });
    assert.equal(spec.serviceAccountName, 'switchyard-agent');
    const args: string[] = spec.containers[0].command;
    assert.deepEqual(args.slice(2, 3), ['agent']);
    assert.ok(
      args.some((a) => a.includes('CONTAINER_SANDBOX_MOUNT_POINT')),
      'the agent runs from the sandbox mount point',
    );
  });

  it('the Linux DaemonSet has host networking, the exact capabilities and the host paths the agent owns', () => {
    const ds = find(base, 'DaemonSet', 'switchyard-agent-linux');
    const spec = ds.spec.template.spec;
    assert.equal(spec.hostNetwork, true);
    assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
    const c = spec.containers[0];
    assert.equal(c.securityContext.privileged, false);
    assert.deepEqual(c.securityContext.capabilities, { add: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'], drop: ['ALL'] });
    const mounts = Object.fromEntries(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
    for (const p of ['/run/switchyard', '/etc/cni/net.d', '/opt/cni/bin', '/var/lib/cni/networks', '/run/flannel'])
      assert.ok(mounts[p], `${p} is not mounted`);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  });

  it('the ServiceAccount is bound to the agent ClusterRole, which has no wildcard rules', () => {
    const binding = find(base, 'ClusterRoleBinding', 'switchyard-agent');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'switchyard-agent', namespace: 'switchyard-system' }]);
    const role = find(base, 'ClusterRole', 'switchyard-agent');
    for (const rule of role.rules) assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*'), 'no wildcard rules');
  });

  for (const overlay of ['host-gw', 'vxlan']) {
    it(`the ${overlay} overlay renders with kustomize, validates, and carries its backend`, function () {
      if (!hasKubectl) this.skip();
      const objs = kustomize(path.join(manifests, 'overlays', overlay));
      for (const obj of objs) validateAgainstSchema(obj);
      const cm = find(objs, 'ConfigMap', 'switchyard-config');
      const netConf = JSON.parse(cm.data['net-conf.json']);
      assert.equal(netConf.Backend.Type, overlay);
      if (overlay === 'vxlan') assert.deepEqual([netConf.Backend.VNI, netConf.Backend.Port], [4096, 4789]);
      assert.ok(cm.data['agent.yaml'], 'the merge keeps the agent config');
    });
  }

  it('the systemd unit passes systemd-analyze verify and orders the agent before kubelet', function () {
    const unit = fs.readFileSync(path.join(manifests, 'systemd/switchyard-agent.service'), 'utf8');
    assert.match(unit, /^Before=.*\bkubelet\.service\b/m);
    assert.match(unit, /^Type=notify$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^NoNewPrivileges=yes$/m);
    assert.match(unit, /^ProtectSystem=strict$/m);
    if (spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-unit-'));
    try {
      // verify checks that ExecStart's program exists: point it at this checkout's node and CLI.
      const local = unit.replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath} ${path.join(root, 'dist/src/cli/main.js')} agent`);
      fs.writeFileSync(path.join(dir, 'switchyard-agent.service'), local);
      const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'switchyard-agent.service')], { encoding: 'utf8' });
      // Unknown keys and bad values are only warnings (exit 0), so any output is a failure too.
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', r.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * RBAC = exactly what the code calls. Every @kubernetes/client-node call in src/ (API client methods and
 * informer/watch paths) maps to one (apiGroup, resource, verb); the ClusterRole must grant that set and no
 * more. A client method missing from the table fails the test, so a new call cannot slip past the manifest.
 */
describe('manifests: RBAC matches the API calls in src/', () => {
  const methodRules: Record<string, [string, string, string][]> = {
    listNode: [['', 'nodes', 'list']],
    readNode: [['', 'nodes', 'get']],
    patchNode: [['', 'nodes', 'patch']],
    patchNodeStatus: [['', 'nodes/status', 'patch']],
    listServiceForAllNamespaces: [['', 'services', 'list']],
    listEndpointSliceForAllNamespaces: [['discovery.k8s.io', 'endpointslices', 'list']],
    // src/ posts events through the events.k8s.io/v1 client only (src/proxy/events.ts).
    createNamespacedEvent: [['events.k8s.io', 'events', 'create']],
  };
  const pathRules: Record<string, [string, string][]> = {
    '/api/v1/nodes': [['', 'nodes']],
    '/api/v1/services': [['', 'services']],
    '/apis/discovery.k8s.io/v1/endpointslices': [['discovery.k8s.io', 'endpointslices']],
  };

  function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
    });
  }

  it('the ClusterRole grants exactly the calls the agent and proxy make', () => {
    const used = new Set<string>();
    const unknown: string[] = [];
    for (const file of sourceFiles(path.join(root, 'src'))) {
      const text = fs.readFileSync(file, 'utf8');
      if (!/@kubernetes\/client-node/.test(text)) continue;
      for (const m of text.matchAll(
        /\b(?:api|client|coreApi|discoveryApi|eventsApi|\w+Api)!?\.((?:list|read|patch|create|replace|delete)\w*)\(/g,
      )) {
        const rules = methodRules[m[1]];
        if (!rules) unknown.push(`${path.relative(root, file)}: ${m[1]}`);
        else for (const r of rules) used.add(r.join('|'));
      }
      for (const m of text.matchAll(/['"`](\/apis?\/[a-z0-9./-]+)['"`]/g)) {
        const rules = pathRules[m[1]];
        if (!rules) unknown.push(`${path.relative(root, file)}: watch ${m[1]}`);
        else for (const [g, r] of rules) for (const verb of ['list', 'watch']) used.add([g, r, verb].join('|'));
      }
    }
    assert.deepEqual(unknown, [], 'client calls with no RBAC mapping in this test: add them to the table and to manifests/base/rbac.yaml');
    const role = loadYaml(path.join(manifests, 'base/rbac.yaml')).find((o) => o.kind === 'ClusterRole') as any;
    const granted = new Set<string>();
    for (const rule of role.rules)
      for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) granted.add([g, r, v].join('|'));
    assert.deepEqual([...granted].sort(), [...used].sort());
  });
});
