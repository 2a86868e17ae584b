import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { authenticate } from './authenticate.js';
import { authorize, rolesRule } from './authorize.js';
import { bearerAuth, bearerToken } from './bearer.js';
import { safeEqual, secretMatcher } from './constant-time.js';
import { bearerCredentials } from './credentials.js';
import { clientCertificate, mtlsAuth } from './mtls-auth.js';
import { createTestPki } from './test-certs.js';
import { type RawTlsPeer, rawTlsPeer } from './test-raw-peer.js';

const servers: Server[] = [];
const closers: (() => Promise<void>)[] = [];
const peers: RawTlsPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 100 })));
});
const pki = createTestPki('reporter');
afterAll(() => pki.ca.dispose());

const handlers = {
  async sayHello({ name }: { name: string }, ctx: CallContext) {
    return { message: `hello ${name}, you are ${ctx.principal?.id ?? 'nobody'}` };
  },
  echo: async (x: unknown) => x,
  sleep: async () => ({ aborted: false }),
  fail: async (): Promise<never> => {
    throw new Error('x');
  },
};

async function serve(filters: Filter[], tls?: Parameters<Server['listen']>[0]) {
  const server = createServer({ filters }).implement(Greeter, handlers);
  servers.push(server);
  return server.listen(tls);
}
function client(address: string, filters: Filter[] = []) {
  const c = createClient(Greeter, { addresses: [address], filters, policies: false, timeoutMs: 5_000 });
  closers.push(() => c.close());
  return c;
}
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return err instanceof RpcError ? `${err.code}: ${err.message}` : String(err);
  }
};

const tokens = { 's3cret-alice': { id: 'alice', roles: ['admin'] }, 's3cret-bob': 'bob' };

describe('bearer tokens', () => {
  it('accepts a static token and names the caller; refuses missing, wrong and malformed ones', async () => {
    const { address } = await serve([bearerAuth({ tokens })]);
    expect(await client(address, [bearerCredentials('s3cret-alice')]).sayHello({ name: 'a' })).toEqual({
      message: 'hello a, you are alice',
    });
    expect(await codeOf(client(address).sayHello({ name: 'a' }))).toMatch(
      /^UNAUTHENTICATED: greeter\/sayHello needs credentials: metadata "authorization: Bearer <token>"/,
    );
    expect(await codeOf(client(address, [bearerCredentials('s3cret-alicf')]).sayHello({ name: 'a' }))).toBe(
      'UNAUTHENTICATED: invalid or expired bearer token',
    );
    const basic = client(address);
    expect(
      await codeOf(basic.sayHello({ name: 'a' }, { metadata: { authorization: 'Basic YWxpY2U6eA==' } })),
    ).toMatch(/UNAUTHENTICATED: malformed authorization metadata/);
  });

  it('asks verify() for tokens it does not know, and hides a crashing verifier', async () => {
    let n = 0;
    const { address } = await serve([
      bearerAuth({
        tokens,
        verify: (token) => {
          if (token === 'boom') throw new Error('database password is hunter2');
          return token === `rotating-${n}` ? { id: 'svc', via: 'token', roles: [] } : undefined;
        },
      }),
    ]);
    const rotating = client(address, [bearerCredentials(() => `rotating-${n}`)]);
    expect(await rotating.sayHello({ name: 'r' })).toEqual({ message: 'hello r, you are svc' });
    n = 1;
    expect(await rotating.sayHello({ name: 'r' })).toEqual({ message: 'hello r, you are svc' });
    const crash = await codeOf(client(address, [bearerCredentials('boom')]).sayHello({ name: 'x' }));
    expect(crash).toBe('UNAUTHENTICATED: bearer token could not be verified');
  });

  it('publicMethods let anonymous calls through to those methods only', async () => {
    const { address } = await serve([bearerAuth({ tokens, publicMethods: ['greeter/echo'] })]);
    const anon = client(address);
    expect(await anon.echo('hi')).toBe('hi');
    expect(await codeOf(anon.sayHello({ name: 'x' }))).toMatch(/^UNAUTHENTICATED/);
  });

  it('optional lets calls without a credential through with no principal; a bad one is still refused', async () => {
    const { address } = await serve([bearerAuth({ tokens, optional: true })]);
    expect(await client(address).sayHello({ name: 'x' })).toEqual({ message: 'hello x, you are nobody' });
    expect(await client(address, [bearerCredentials('s3cret-bob')]).sayHello({ name: 'y' })).toEqual({
      message: 'hello y, you are bob',
    });
    expect(await codeOf(client(address, [bearerCredentials('wrong')]).sayHello({ name: 'z' }))).toBe(
      'UNAUTHENTICATED: invalid or expired bearer token',
    );
  });

  it('an async authenticator that finds nothing falls through to the next one', async () => {
    const asked: string[] = [];
    const lookup = async (ctx: CallContext) => {
      asked.push(ctx.method);
      await new Promise((r) => setTimeout(r, 1));
      return ctx.metadata['x-api-key'] === 'k1' ? { id: 'api', via: 'token' as const, roles: [] } : undefined;
    };
    const { address } = await serve([authenticate([lookup, bearerToken({ tokens })])]);
    const c = client(address, [bearerCredentials('s3cret-alice')]);
    expect(await c.sayHello({ name: 'a' })).toEqual({ message: 'hello a, you are alice' });
    expect(await client(address).sayHello({ name: 'k' }, { metadata: { 'x-api-key': 'k1' } })).toEqual({
      message: 'hello k, you are api',
    });
    expect(await codeOf(client(address).sayHello({ name: 'n' }))).toMatch(
      /^UNAUTHENTICATED: .*needs credentials/,
    );
    expect(asked).toEqual(['greeter/sayHello', 'greeter/sayHello', 'greeter/sayHello']);
  });
});

describe('authorization', () => {
  it('per-method roles: PERMISSION_DENIED with who and what, UNAUTHENTICATED for nobody', async () => {
    const rule = rolesRule({ 'greeter/sayHello': ['admin'], 'greeter/echo': ['*'], 'greeter/*': ['ops'] });
    const { address } = await serve([bearerAuth({ tokens, optional: true }), authorize(rule)]);
    expect(await client(address, [bearerCredentials('s3cret-alice')]).sayHello({ name: 'a' })).toMatchObject({
      message: /alice/,
    });
    const bob = client(address, [bearerCredentials('s3cret-bob')]);
    expect(await codeOf(bob.sayHello({ name: 'b' }))).toBe(
      'PERMISSION_DENIED: bob may not call greeter/sayHello: needs one of the roles admin',
    );
    expect(await bob.echo(1)).toBe(1);
    expect(await codeOf(bob.sleep({ ms: 1 }))).toMatch(/^PERMISSION_DENIED: bob may not call greeter\/sleep/);
    const anon = client(address);
    expect(await anon.echo(2)).toBe(2);
    expect(await codeOf(anon.sayHello({ name: 'x' }))).toBe(
      'UNAUTHENTICATED: greeter/sayHello needs an authenticated caller',
    );
  });

  it('a custom hook sees the method and the principal', async () => {
    const seen: string[] = [];
    const { address } = await serve([
      bearerAuth({ tokens }),
      authorize((p, ctx) => {
        seen.push(`${p?.id} ${ctx.method}`);
        return ctx.method !== 'greeter/fail' || 'failing is reserved';
      }),
    ]);
    const c = client(address, [bearerCredentials('s3cret-bob')]);
    await c.echo(1);
    expect(await codeOf(c.fail({ kind: 'rpc' }))).toBe(
      'PERMISSION_DENIED: bob may not call greeter/fail: failing is reserved',
    );
    expect(seen).toEqual(['bob greeter/echo', 'bob greeter/fail']);
  });
});

describe('mTLS identities', () => {
  const tls = { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, rejectUnauthorized: false };
  const dial = async (port: number, extra: object = {}) => {
    const p = await rawTlsPeer(port, { ca: pki.ca.cert, servername: 'localhost', ...extra });
    peers.push(p);
    return p;
  };

  it('a verified certificate authenticates; tokens still work for callers without one', async () => {
    const rule = rolesRule({ 'greeter/sayHello': ['*'], 'greeter/echo': ['writer'] });
    const { port } = await serve(
      [
        authenticate([
          clientCertificate({
            identify: (id) => ({ id: id.altNames[0]!.slice(4), via: 'certificate', roles: ['writer'] }),
          }),
          bearerToken({ tokens }),
        ]),
        authorize(rule),
      ],
      { tls },
    );
    const withCert = await dial(port, pki.client);
    expect(await withCert.call('greeter/sayHello', { name: 'c' })).toEqual({
      message: 'hello c, you are spiffe://tensile.test/reporter',
    });
    expect(await withCert.call('greeter/echo', 5)).toBe(5);
    const withToken = await dial(port);
    expect(
      await withToken.call('greeter/sayHello', { name: 't' }, { authorization: 'Bearer s3cret-bob' }),
    ).toEqual({ message: 'hello t, you are bob' });
    await expect(withToken.call('greeter/echo', 1, { authorization: 'Bearer s3cret-bob' })).rejects.toThrow(
      /bob may not call greeter\/echo/,
    );
    await expect(withToken.call('greeter/sayHello', { name: 'n' })).rejects.toThrow(/needs credentials/);
  });

  it('mtlsAuth() names the caller by its SPIFFE id; no certificate is UNAUTHENTICATED unless the method is public', async () => {
    const { port } = await serve([mtlsAuth({ publicMethods: ['greeter/echo'] })], { tls });
    const withCert = await dial(port, pki.client);
    expect(await withCert.call('greeter/sayHello', { name: 'c' })).toEqual({
      message: 'hello c, you are spiffe://tensile.test/reporter',
    });
    const anon = await dial(port);
    await expect(anon.call('greeter/sayHello', { name: 'n' })).rejects.toMatchObject({
      message: expect.stringMatching(/greeter\/sayHello needs credentials/),
      code: 16,
    });
    expect(await anon.call('greeter/echo', 3)).toBe(3);
    // mtlsAuth takes no tokens.
    await expect(
      anon.call('greeter/sayHello', { name: 't' }, { authorization: 'Bearer s3cret-bob' }),
    ).rejects.toMatchObject({ code: 16 });
  });

  it('an untrusted certificate is UNAUTHENTICATED with the reason', async () => {
    const { port } = await serve([authenticate([clientCertificate()])], { tls });
    const other = createTestPki('mallory');
    try {
      const p = await dial(port, other.client);
      await expect(p.call('greeter/sayHello', { name: 'm' })).rejects.toMatchObject({
        message: expect.stringMatching(/client certificate not trusted: UNABLE_TO_VERIFY/),
        code: 16,
      });
    } finally {
      other.ca.dispose();
    }
  });
});

describe('constant-time secrets', () => {
  it('matches only exact secrets and refuses empty ones', () => {
    const m = secretMatcher([
      ['abc', 1],
      ['abd', 2],
    ]);
    expect([m('abc'), m('abd'), m('ab'), m('abcd'), m('')]).toEqual([1, 2, undefined, undefined, undefined]);
    expect(() => secretMatcher([['', 1]])).toThrow(/empty/);
    expect(safeEqual('x', 'x')).toBe(true);
    expect(safeEqual('x', 'y')).toBe(false);
  });
});
