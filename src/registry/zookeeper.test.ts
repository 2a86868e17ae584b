import zookeeper, { type Client } from 'node-zookeeper-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from './instance.js';
import { record, registryContract, waitFor } from './registry.case.js';
import type { Registry } from './registry.js';
import {
  startTcpProxy,
  startZooKeeper,
  type TcpProxy,
  type TestServer,
  zookeeperAvailability,
} from './test-servers.js';
import { type ZooKeeperRegistryOptions, zookeeperRegistry } from './zookeeper.js';
import { ZkSession } from './zookeeper-session.js';

const zk = zookeeperAvailability();
const quiet = (lines: string[] = []) => ({ warn: (m: string) => void lines.push(m) });
const ids = (set: readonly Instance[] | undefined) => (set ?? []).map((i) => i.id).sort();

/** A bare client, to act as a third party that does not go through the registry. */
async function rawClient(connectionString: string, credential?: string): Promise<Client> {
  const client = zookeeper.createClient(connectionString, { sessionTimeout: 2000 });
  if (credential) client.addAuthInfo('digest', Buffer.from(credential));
  const connected = new Promise<void>((r) => client.once('connected', () => r()));
  client.connect();
  await connected;
  return client;
}
const call = <T>(op: (done: (err: unknown, result?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => op((err, result) => (err ? reject(err) : resolve(result as T))));

describe.skipIf(!zk.available)(
  zk.available ? 'ZooKeeper registry' : `ZooKeeper registry (skipped: ${zk.reason})`,
  () => {
    let server: TestServer | undefined;
    registryContract('zookeeper', {
      setup: async () => {
        server = await startZooKeeper();
      },
      teardown: async () => server?.stop(),
      create: async ({ ttlMs }) =>
        zookeeperRegistry({ connectionString: server!.endpoint, sessionTimeoutMs: ttlMs, logger: quiet() }),
      restartBackend: () => server!.restart(),
      // Sessions outlive a server restart on a loaded CI machine (a 2 s session can expire
      // while the JVM starts, which really does delete its ephemeral nodes).
      ttlMs: 5000,
    });

    describe('ZooKeeper specifics', () => {
      let srv: TestServer;
      const open: Registry[] = [];
      const proxies: TcpProxy[] = [];
      const raws: Client[] = [];
      beforeAll(async () => {
        srv = await startZooKeeper();
      });
      afterEach(async () => {
        await Promise.allSettled(open.splice(0).map((r) => r.close()));
        await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
        for (const c of raws.splice(0)) c.close();
      });
      afterAll(async () => srv?.stop());
      const registry = (connectionString: string, extra: Partial<ZooKeeperRegistryOptions> = {}) => {
        const r = zookeeperRegistry({ connectionString, sessionTimeoutMs: 1000, logger: quiet(), ...extra });
        open.push(r);
        return r;
      };

      it('after session expiry starts a new session, re-registers and re-arms its watch', async () => {
        const proxy = await startTcpProxy(srv.endpoint);
        proxies.push(proxy);
        const logs: string[] = [];
        const partitioned = registry(proxy.endpoint, { logger: quiet(logs) });
        const observer = registry(srv.endpoint);
        await partitioned.register({ service: 'expiry', address: '127.0.0.1:9101', id: 'cut-off' });
        const own = record(partitioned, 'expiry');
        const seen = record(observer, 'expiry');
        await own.until((s) => ids(s).join() === 'cut-off', 5000);
        await seen.until((s) => ids(s).join() === 'cut-off', 5000);

        // The partition outlasts the session: the server expires it and drops its ephemeral znode.
        proxy.cut();
        await seen.until((s) => s.length === 0, 10_000, 'the server to expire the session');
        await observer.register({ service: 'expiry', address: '127.0.0.1:9102', id: 'joined-meanwhile' });
        await seen.until((s) => s.length === 1, 5000);
        expect(ids(own.latest())).toEqual(['cut-off']); // cut off: the last set stays in force

        proxy.heal();
        await seen.until((s) => ids(s).join() === 'cut-off,joined-meanwhile', 10_000, 're-registration');
        await own.until((s) => ids(s).join() === 'cut-off,joined-meanwhile', 10_000, 're-watch');
        expect(logs.some((l) => l.includes('EXPIRED'))).toBe(true);
        // The new session's watches are armed: later changes still arrive.
        await observer.register({ service: 'expiry', address: '127.0.0.1:9103', id: 'joined-later' });
        await own.until((s) => s.length === 3, 5000, 'a change after the new session');
      });

      it('follows data changes on every trigger, not just the first', async () => {
        const owner = registry(srv.endpoint);
        const watcher = registry(srv.endpoint);
        const reg = await owner.register({ service: 'rearm', address: '127.0.0.1:9110', id: 'x' });
        const rec = record(watcher, 'rearm');
        for (const status of ['DOWN', 'UP', 'OUT_OF_SERVICE', 'STARTING', 'UP'] as const) {
          await reg.setStatus(status);
          await rec.until((s) => s[0]?.status === status, 5000, `status ${status}`);
        }
      });

      it('protects znodes with a digest ACL: others can read but not delete, modify, re-ACL or add', async () => {
        const secured = registry(srv.endpoint, {
          root: '/acl/services',
          auth: { scheme: 'digest', credential: 'alice:secret' },
        });
        await secured.register({ service: 'vault', address: '127.0.0.1:9120', id: 'v1' });
        const path = '/acl/services/vault/v1';
        const stranger = await rawClient(srv.endpoint);
        raws.push(stranger);
        const NO_AUTH = zookeeper.Exception.NO_AUTH;
        await expect(call((done) => stranger.remove(path, -1, done))).rejects.toMatchObject({
          code: NO_AUTH,
        });
        await expect(
          call((done) => stranger.create('/acl/services/vault/intruder', Buffer.from('{}'), done)),
        ).rejects.toMatchObject({ code: NO_AUTH });
        await expect(
          call((done) => stranger.setData(path, Buffer.from('{"address":"evil:1"}'), -1, done)),
        ).rejects.toMatchObject({ code: NO_AUTH });
        const openAcl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];
        await expect(call((done) => stranger.setACL(path, openAcl, -1, done))).rejects.toMatchObject({
          code: NO_AUTH,
        });
        const data = await call<Buffer>((done) => stranger.getData(path, done));
        expect(JSON.parse(data.toString())).toMatchObject({ id: 'v1', service: 'vault' });
        expect(ids(await secured.instances('vault'))).toEqual(['v1']);

        // The same identity from another session may manage the node.
        const colleague = await rawClient(srv.endpoint, 'alice:secret');
        raws.push(colleague);
        const acls = await call<{ id: { scheme: string; id: string } }[]>((done) =>
          colleague.getACL(path, done),
        );
        expect(acls.map((a) => a.id.scheme).sort()).toEqual(['digest', 'world']);
        await call((done) => colleague.remove(path, -1, done));
        await waitFor(async () => (await secured.instances('vault')).length === 0, 5000, 'removal');
      });

      it('with worldReadable: false hides instances from clients without credentials', async () => {
        const secured = registry(srv.endpoint, {
          root: '/private/services',
          auth: { scheme: 'digest', credential: 'bob:hunter2', worldReadable: false },
        });
        await secured.register({ service: 'hidden', address: '127.0.0.1:9130', id: 'h1' });
        const stranger = await rawClient(srv.endpoint);
        raws.push(stranger);
        await expect(
          call((done) => stranger.getData('/private/services/hidden/h1', done)),
        ).rejects.toMatchObject({ code: zookeeper.Exception.NO_AUTH });
        const anonymous = registry(srv.endpoint, { root: '/private/services' });
        await expect(anonymous.instances('hidden')).rejects.toMatchObject({
          code: zookeeper.Exception.NO_AUTH,
        });
      });

      it('backs off after an authentication failure instead of reconnecting in a loop', async () => {
        const logs: string[] = [];
        const session = new ZkSession({
          connectionString: srv.endpoint,
          sessionTimeoutMs: 2000,
          spinDelayMs: 50,
          opTimeoutMs: 1000,
          retryMs: 100,
          // The server knows no such scheme and answers AUTH_FAILED.
          auth: { scheme: 'no-such-scheme', credential: 'x' },
          logger: { warn: (m) => void logs.push(m) },
        });
        try {
          await waitFor(() => session.generation >= 2, 5000, 'a first retry');
          await new Promise((r) => setTimeout(r, 1000));
          // 100 + 200 + 400 ms of pauses fit in that second; a tight loop makes hundreds of sessions.
          expect(session.generation).toBeLessThanOrEqual(5);
          expect(logs.filter((l) => /authentication failed/.test(l))).toHaveLength(1);
        } finally {
          session.close();
        }
      });
    });
  },
);
