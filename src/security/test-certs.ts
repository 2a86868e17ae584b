import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM key and certificate pair. */
export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface TestCa {
  /** The CA certificate (PEM), to pass as `ca`. */
  readonly cert: string;
  /** Issues a leaf certificate signed by this CA. */
  issue(options: IssueOptions): KeyPair;
  /** Removes the temp dir holding the keys. */
  dispose(): void;
}

export interface IssueOptions {
  commonName: string;
  /** subjectAltName entries such as `IP:127.0.0.1`, `DNS:localhost`, `URI:spiffe://x/y`. */
  altNames?: readonly string[];
  /** Default both: `serverAuth,clientAuth`. */
  usage?: 'server' | 'client' | 'both';
  days?: number;
}

/**
 * A throwaway certificate authority made with the openssl command (tests only): P-256 keys,
 * so issuing takes milliseconds. Every call makes its own temp dir.
 */
export function createTestCa(name = 'Tensile Test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'tensile-ca-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    ...['-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${name}`],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  );
  let serial = 0;
  return {
    cert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    issue({ commonName, altNames = [], usage = 'both', days = 2 }) {
      const n = ++serial;
      const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[usage];
      const ext = [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${eku}`,
        ...(altNames.length ? [`subjectAltName=${altNames.join(',')}`] : []),
      ];
      writeFileSync(join(dir, `${n}.ext`), `${ext.join('\n')}\n`);
      ssl('req', ...ec, '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', `/O=Tensile/CN=${commonName}`);
      ssl(
        'x509',
        '-req',
        ...['-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'],
        ...['-out', `${n}.crt`, '-days', String(days), '-extfile', `${n}.ext`],
      );
      return {
        key: readFileSync(join(dir, `${n}.key`), 'utf8'),
        cert: readFileSync(join(dir, `${n}.crt`), 'utf8'),
      };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A CA, a server pair for 127.0.0.1/localhost and a client pair: what most TLS tests need. */
export function createTestPki(clientName = 'client-a') {
  const ca = createTestCa();
  const server = ca.issue({
    commonName: 'localhost',
    altNames: ['IP:127.0.0.1', 'DNS:localhost'],
    usage: 'server',
  });
  const client = ca.issue({
    commonName: clientName,
    altNames: [`URI:spiffe://tensile.test/${clientName}`],
    usage: 'client',
  });
  return { ca, server, client };
}
