import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { etcdRegistry } from './etcd.js';
import type { Instance } from './instance.js';
import { record, registryContract, waitFor } from './registry.case.js';
import type { Registry } from './registry.js';
import {
  etcdAvailability,
  startEtcd,
  startTcpProxy,
  type TcpProxy,
  type TestServer,
} from './test-servers.js';

const etcd = etcdAvailability();
const quiet = (lines: string[] = []) => ({ warn: (m: string) => void lines.push(m) });
const ids = (set: readonly Instance[] | undefined) => (set ?? []).map((i) => `${i.id}:${i.status}`).sort();

describe.skipIf(!etcd.available)(
  etcd.available ? 'etcd registry' : `etcd registry (skipped: ${etcd.reason})`,
  () => {
    let server: TestServer | undefined;
    registryContract('etcd', {
      setup: async () => {
        server = await startEtcd();
      },
      teardown: async () => server?.stop(),
      create: async ({ ttlMs }) => etcdRegistry({ hosts: server!.endpoint, ttlMs, logger: quiet() }),
      restartBackend: () => server!.restart(),
    });

    describe('etcd specifics', () => {
      let srv: TestServer;
      const open: Registry[] = [];
      const proxies: TcpProxy[] = [];
      const raws: Etcd3[] = [];
      beforeAll(async () => {
        srv = await startEtcd();
      });
      afterEach(async () => {
        await Promise.allSettled(open.splice(0).map((r) => r.close()));
        await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
        for (const c of raws.splice(0)) c.close();
      });
      afterAll(async () => srv?.stop());
      const registry = (
        hosts: string,
        logs?: string[],
        extra: Partial<Parameters<typeof etcdRegistry>[0]> = {},
      ) => {
        const r = etcdRegistry({ hosts, ttlMs: 2000, logger: quiet(logs), ...extra });
        open.push(r);
        return r;
      };

      it('resumes a watch after a reconnect and sees every change made while cut off', async () => {
        const proxy = await startTcpProxy(srv.endpoint);
        proxies.push(proxy);
        const logs: string[] = [];
        const watcher = registry(proxy.endpoint, logs);
        const writer = registry(srv.endpoint);
        const rec = record(watcher, 'gaps');
        const a = await writer.register({ service: 'gaps', address: '127.0.0.1:9001', id: 'a' });
        await rec.until((s) => ids(s).join() === 'a:UP', 10_000);
        // The first set may come from the initial read, before the watch stream exists; a
        // change made after it can only arrive through the watch, so the cut hits a live stream.
        const probe = await writer.register({ service: 'gaps', address: '127.0.0.1:9009', id: 'probe' });
        await rec.until((s) => ids(s).join() === 'a:UP,probe:UP', 10_000, 'the watch stream');
        await probe.deregister();
        await rec.until((s) => ids(s).join() === 'a:UP', 10_000, 'the probe gone');

        proxy.cut();
        await waitFor(
          () => logs.some((l) => l.includes('disconnected')),
          10_000,
          'the watch to notice the cut',
        );
        const emittedBeforeChanges = rec.history.length;
        await writer.register({ service: 'gaps', address: '127.0.0.1:9002', id: 'b', metadata: { v: '1' } });
        const c = await writer.register({ service: 'gaps', address: '127.0.0.1:9003', id: 'c' });
        await a.setStatus('DOWN');
        await c.deregister();
        await writer.register({ service: 'gaps', address: '127.0.0.1:9004', id: 'd' });
        // Cut off: the last known set stays in force.
        await new Promise((r) => setTimeout(r, 300));
        expect(rec.history.length).toBe(emittedBeforeChanges);
        expect(ids(rec.latest())).toEqual(['a:UP']);

        proxy.heal();
        const healed = await rec.until((s) => ids(s).join() === 'a:DOWN,b:UP,d:UP', 10_000, 'catch-up');
        expect(healed.find((i) => i.id === 'b')?.metadata).toEqual({ v: '1' });
        // It resumed the same watch from its revision rather than re-reading after a cancellation.
        expect(logs.some((l) => l.includes('resumed from revision'))).toBe(true);
        expect(logs.some((l) => l.includes('cancelled'))).toBe(false);
        // The outage never emptied the set: every emission since the cut still holds a.
        expect(
          rec.history.slice(emittedBeforeChanges - 1).every((set) => set.some((x) => x.id === 'a')),
        ).toBe(true);
      }, 40_000);

      it('re-grants a lost lease and writes the instance again', async () => {
        const logs: string[] = [];
        const owner = registry(srv.endpoint, logs);
        const observer = registry(srv.endpoint);
        const raw = new Etcd3({ hosts: srv.endpoint });
        raws.push(raw);
        await owner.register({ service: 'lease', address: '127.0.0.1:9010', id: 'phoenix' });
        const rec = record(observer, 'lease');
        await rec.until((s) => s.length === 1, 5000);
        // Revoking every lease is what an etcd restored from an old backup would do to us.
        const { leases } = await raw.leaseClient.leaseLeases();
        await Promise.all(leases.map((l) => raw.leaseClient.leaseRevoke({ ID: l.ID })));
        await rec.until((s) => s.length === 0, 5000, 'the revoked lease to delete the key');
        await rec.until((s) => ids(s).join() === 'phoenix:UP', 10_000, 're-registration');
        expect(logs.some((l) => l.includes('lease') && l.includes('lost'))).toBe(true);
      });

      it('works with etcd authentication and is refused without credentials', async () => {
        const authSrv = await startEtcd();
        try {
          const admin = new Etcd3({ hosts: authSrv.endpoint });
          raws.push(admin);
          await admin.user('root').create('root-secret');
          await admin.user('root').addRole('root');
          await admin.role('tensile').create();
          await admin
            .role('tensile')
            .grant({ permission: 'Readwrite', range: admin.range({ prefix: '/tensile/' }) });
          await admin.user('svc').create('svc-secret');
          await admin.user('svc').addRole('tensile');
          await admin.auth.authEnable();

          const hosts = authSrv.endpoint;
          const good = registry(hosts, [], { credentials: { username: 'svc', password: 'svc-secret' } });
          const rec = record(good, 'secure');
          await good.register({ service: 'secure', address: '127.0.0.1:9020', id: 'ok' });
          await rec.until((s) => ids(s).join() === 'ok:UP', 5000);
          expect((await good.instances('secure')).map((i) => i.id)).toEqual(['ok']);

          const anonymous = registry(hosts, [], { callTimeoutMs: 2000 });
          await expect(
            anonymous.register({ service: 'secure', address: '127.0.0.1:9021' }),
          ).rejects.toThrow();
          await expect(anonymous.instances('secure')).rejects.toThrow();
          const wrong = registry(hosts, [], { credentials: { username: 'svc', password: 'nope' } });
          await expect(wrong.instances('secure')).rejects.toThrow(/auth/i);
          // A user whose role covers only /tensile/ cannot write elsewhere.
          const outside = registry(hosts, [], {
            credentials: { username: 'svc', password: 'svc-secret' },
            prefix: '/other',
          });
          await expect(outside.register({ service: 'secure', address: '127.0.0.1:9022' })).rejects.toThrow(
            /permission/i,
          );
        } finally {
          await Promise.allSettled(open.splice(0).map((r) => r.close()));
          await authSrv.stop();
        }
      });
    });
  },
);
