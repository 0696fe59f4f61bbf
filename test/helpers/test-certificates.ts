// Certificates for the secure-broker tests, made with the openssl command line: a CA, a broker
// certificate for 127.0.0.1 and localhost, a client certificate, and a second CA that signed
// neither (what an untrusted broker looks like to a client that trusts only it).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  /** PEM: the CA that signed the broker and client certificates */
  ca: string;
  /** PEM: a CA that signed nothing here */
  otherCa: string;
  /** PEM: the broker's PKCS#8 key, then its certificate (Kafka's PEM keystore) */
  brokerKeyAndCertificate: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function selfSignedCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

/** A key and a certificate for `name`, signed by the CA `ca`, with the given extensions. */
function signed(dir: string, ca: string, name: string, extensions: string[]): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  selfSignedCa(dir, 'test-ca');
  selfSignedCa(dir, 'other-ca');
  signed(dir, 'test-ca', 'broker', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth']);
  signed(dir, 'test-ca', 'client', ['extendedKeyUsage=clientAuth']);
  const brokerKeyAndCertificate = join(dir, 'broker-keystore.pem');
  writeFileSync(brokerKeyAndCertificate, readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.crt'), 'utf8'));
  return {
    ca: join(dir, 'test-ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    brokerKeyAndCertificate,
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}
