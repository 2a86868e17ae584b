import { X509Certificate } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import type { CallContext } from '../core/context.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import type { PeerIdentity } from './peer.js';
import { createTestPki } from './test-certs.js';
import { type RawTlsPeer, rawTlsPeer } from './test-raw-peer.js';
import type { ClientTlsOptions, ServerTlsOptions } from './tls-options.js';

const pki = createTestPki();
const servers: Server[] = [];
const peers: RawTlsPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 100 })));
});
afterAll(() => pki.ca.dispose());

/** Starts a server whose `seen` maps each sayHello name to the caller's identity. */
async function start(tls: ServerTlsOptions) {
  const seen = new Map<string, PeerIdentity | undefined>();
  const server = createServer().implement(Greeter, {
    async sayHello({ name }, ctx: CallContext) {
      seen.set(name, ctx.peerIdentity);
      return { message: `hello ${name} from ${ctx.peerIdentity?.commonName ?? 'anonymous'}` };
    },
    echo: async (x) => x,
    sleep: async () => ({ aborted: false }),
    fail: async () => {
      throw new Error('x');
    },
  });
  servers.push(server);
  const { port } = await server.listen({ tls });
  return { server, port, seen };
}
const peer = async (port: number, options: Parameters<typeof rawTlsPeer>[1]) => {
  const p = await rawTlsPeer(port, options);
  peers.push(p);
  return p;
};

describe('TLS on the wire protocol', () => {
  it('serves calls over TLS to a client that trusts the CA; no client identity without mTLS', async () => {
    const { port, seen } = await start({ key: pki.server.key, cert: pki.server.cert });
    const p = await peer(port, { ca: pki.ca.cert, servername: 'localhost' });
    expect(p.socket.authorized).toBe(true);
    expect(await p.call('greeter/sayHello', { name: 'x' })).toEqual({ message: 'hello x from anonymous' });
    expect(seen.get('x')).toMatchObject({ authorized: false, authorizationError: 'no client certificate' });
  });

  it('refuses a client that does not trust the server certificate', async () => {
    const { port } = await start({ key: pki.server.key, cert: pki.server.cert });
    await expect(rawTlsPeer(port, { servername: 'localhost' })).rejects.toThrow(/self.signed|unable to/i);
  });

  it('drops a plain-TCP client on a TLS port and keeps serving TLS clients', async () => {
    const { port } = await start({ key: pki.server.key, cert: pki.server.cert });
    const plain = connect({ host: '127.0.0.1', port });
    plain.on('error', () => {});
    plain.write(Buffer.from('TNSL\x01\x04json'));
    await new Promise((r) => plain.once('close', r));
    const p = await peer(port, { ca: pki.ca.cert, servername: 'localhost' });
    expect(await p.call('greeter/sayHello', { name: 'y' })).toMatchObject({ message: /hello y/ });
  });
});

describe('mutual TLS', () => {
  const mtls = () => ({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert });

  it('gives handlers the verified client identity: subject, SAN, fingerprint', async () => {
    const { port, seen } = await start(mtls());
    const p = await peer(port, { ca: pki.ca.cert, ...pki.client, servername: 'localhost' });
    expect(await p.call('greeter/sayHello', { name: 'z' })).toEqual({ message: 'hello z from client-a' });
    const id = seen.get('z')!;
    expect(id.authorized).toBe(true);
    expect(id.subject).toMatchObject({ O: 'Tensile', CN: 'client-a' });
    expect(id.altNames).toEqual(['URI:spiffe://tensile.test/client-a']);
    expect(id.fingerprint256).toBe(new X509Certificate(pki.client.cert).fingerprint256);
    expect(id.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('rejects a client without a certificate, or with one from another CA', async () => {
    const { port, server, seen } = await start(mtls());
    const withoutCert = rawTlsPeer(port, { ca: pki.ca.cert, servername: 'localhost' }).then(async (p) => {
      peers.push(p);
      // TLS 1.3 reports the refusal after the client's handshake completes: the first call fails.
      return p.call('greeter/sayHello', { name: 'nope' });
    });
    await expect(withoutCert).rejects.toThrow(/certificate|closed|alert/i);
    const other = createTestPki('mallory');
    try {
      const forged = rawTlsPeer(port, { ca: pki.ca.cert, ...other.client, servername: 'localhost' }).then(
        async (p) => {
          peers.push(p);
          return p.call('greeter/sayHello', { name: 'nope' });
        },
      );
      await expect(forged).rejects.toThrow(/certificate|closed|alert|unknown ca/i);
    } finally {
      other.ca.dispose();
    }
    expect(seen.size).toBe(0);
    expect(server.connections).toBe(0);
  });

  it('refuses to request client certificates without a ca unless public roots are trusted explicitly', async () => {
    const bare = { key: pki.server.key, cert: pki.server.cert };
    await expect(start({ ...bare, requestCert: true })).rejects.toThrow(/requestCert without tls\.ca/);
    await expect(start({ ...bare, requestCert: true, rejectUnauthorized: false })).rejects.toThrow(
      /trustPublicRoots/,
    );
    const { port, server } = await start({ ...bare, requestCert: true, trustPublicRoots: true });
    // Our test CA is not a public root: its client certificate does not verify.
    const p = rawTlsPeer(port, { ca: pki.ca.cert, ...pki.client, servername: 'localhost' }).then((p) => {
      peers.push(p);
      return p.call('greeter/sayHello', { name: 'x' });
    });
    await expect(p).rejects.toThrow(/certificate|closed|alert|unknown ca/i);
    expect(() => server.reloadTls({ trustPublicRoots: false })).toThrow(/requestCert without tls\.ca/);
  });

  it('with rejectUnauthorized: false lets filters see unverified clients', async () => {
    const { port, seen } = await start({ ...mtls(), rejectUnauthorized: false });
    const other = createTestPki('mallory');
    try {
      const p = await peer(port, { ca: pki.ca.cert, ...other.client, servername: 'localhost' });
      await p.call('greeter/sayHello', { name: 'm' });
      expect(seen.get('m')).toMatchObject({ authorized: false, commonName: 'mallory' });
      expect(seen.get('m')?.authorizationError).toMatch(/UNABLE_TO_VERIFY|unable/i);
    } finally {
      other.ca.dispose();
    }
  });
});

describe('certificate reload', () => {
  it('new connections get the new certificate; open connections keep working', async () => {
    const { port, server } = await start({ key: pki.server.key, cert: pki.server.cert });
    const old = await peer(port, { ca: pki.ca.cert, servername: 'localhost' });
    const before = old.socket.getPeerX509Certificate()!.fingerprint256;
    const renewed = pki.ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost'], usage: 'server' });
    server.reloadTls(renewed);
    const fresh = await peer(port, { ca: pki.ca.cert, servername: 'localhost' });
    const after = fresh.socket.getPeerX509Certificate()!.fingerprint256;
    expect(after).toBe(new X509Certificate(renewed.cert).fingerprint256);
    expect(after).not.toBe(before);
    expect(await old.call('greeter/sayHello', { name: 'old' })).toMatchObject({ message: /hello old/ });
    expect(await fresh.call('greeter/sayHello', { name: 'new' })).toMatchObject({ message: /hello new/ });
  });

  it('giving or removing ca turns client certificates on or off for new connections', async () => {
    const { port, server, seen } = await start({ key: pki.server.key, cert: pki.server.cert });
    const trusting = { ca: pki.ca.cert, servername: 'localhost' };
    const before = await peer(port, { ...trusting, ...pki.client });
    await before.call('greeter/sayHello', { name: 'a' });
    expect(seen.get('a')).toMatchObject({ authorizationError: 'no client certificate' });

    server.reloadTls({ ca: pki.ca.cert });
    const withCert = await peer(port, { ...trusting, ...pki.client });
    expect(await withCert.call('greeter/sayHello', { name: 'b' })).toEqual({
      message: 'hello b from client-a',
    });
    expect(seen.get('b')).toMatchObject({ authorized: true, commonName: 'client-a' });
    const withoutCert = rawTlsPeer(port, trusting).then((p) => {
      peers.push(p);
      return p.call('greeter/sayHello', { name: 'nope' });
    });
    await expect(withoutCert).rejects.toThrow(/certificate|closed|alert/i);

    server.reloadTls({ ca: undefined });
    const again = await peer(port, trusting);
    expect(await again.call('greeter/sayHello', { name: 'c' })).toEqual({
      message: 'hello c from anonymous',
    });
  });

  it('refuses reloadTls on a plain-TCP server', async () => {
    const server = createServer();
    servers.push(server);
    await server.listen();
    expect(() => server.reloadTls({})).toThrow(/tls/);
  });
});

describe('createClient over TLS', () => {
  const clients: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  const client = (address: string, tls: ClientTlsOptions) => {
    const c = createClient(Greeter, { addresses: [address], tls, policies: false, timeoutMs: 5_000 });
    clients.push(c);
    return c;
  };

  it('calls a TLS server, and an mTLS server with a client certificate', async () => {
    const { server } = await start({ key: pki.server.key, cert: pki.server.cert });
    const c = client(server.address!, { ca: pki.ca.cert });
    expect(await c.sayHello({ name: 'tls' })).toEqual({ message: 'hello tls from anonymous' });
    const m = await start({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert });
    const withCert = client(m.server.address!, { ca: pki.ca.cert, ...pki.client });
    expect(await withCert.sayHello({ name: 'mtls' })).toEqual({ message: 'hello mtls from client-a' });
  });

  it('fails UNAVAILABLE, never processed, when the server certificate is not trusted or names another host', async () => {
    const { server } = await start({ key: pki.server.key, cert: pki.server.cert });
    const untrusting = client(server.address!, {});
    await expect(untrusting.sayHello({ name: 'x' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      mayHaveProcessed: false,
      message: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i),
    });
    const wrongName = client(server.address!, { ca: pki.ca.cert, servername: 'evil.example' });
    await expect(wrongName.sayHello({ name: 'x' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID|altname|does not match/i),
    });
  });

  it('a plain client against a TLS server fails cleanly', async () => {
    const { server } = await start({ key: pki.server.key, cert: pki.server.cert });
    const plain = createClient(Greeter, { addresses: [server.address!], policies: false, timeoutMs: 3_000 });
    clients.push(plain);
    await expect(plain.sayHello({ name: 'x' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
