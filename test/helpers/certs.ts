/**
 * Real certificates for a test run, made with the openssl CLI in a temporary directory:
 * a CA, a second (foreign) CA, two server certificates for localhost/127.0.0.1 (the second
 * for reload tests), two RSA server certificates (OCPP's TLS_RSA suites need one), and client
 * certificates: good (CN = charger id), another CN, signed by the foreign CA, and expired.
 * EC P-256 keys take milliseconds; the two RSA 2048 keys about a tenth of a second.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CertPair { cert: string, key: string }

export interface TestCerts {
  dir: string
  /** The charge point id the good client certificate is issued to. */
  cid: string
  ca: CertPair
  otherCa: CertPair
  server: CertPair
  server2: CertPair
  /** RSA 2048 server certificates (the EC ones cannot serve AES128-GCM-SHA256 / AES256-GCM-SHA384). */
  serverRsa: CertPair
  serverRsa2: CertPair
  clientGood: CertPair
  /** CN = charger id with subject O = "My CPO" / "Other CPO" (the operator check of profile 3). */
  clientOrg: CertPair
  clientOtherOrg: CertPair
  clientOtherCn: CertPair
  clientOtherCa: CertPair
  clientExpired: CertPair
  cleanup: () => void
}

const CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ ca ]
default_ca = ca_default
[ ca_default ]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
x509_extensions = client_ext
[ policy_any ]
commonName = supplied
`

export function makeTestCerts (cid = 'CP001'): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-gw-certs-'))
  const cnf = join(dir, 'openssl.cnf')
  writeFileSync(cnf, CONFIG)
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'serial'), '1000\n')
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const p = (name: string): CertPair => ({ cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) })
  const newKey = (name: string, rsa = false): void => {
    if (rsa) ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p(name).key)
    else ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p(name).key)
  }
  let serial = 1
  const makeCa = (name: string, cn: string): CertPair => {
    newKey(name)
    ssl('req', '-config', cnf, '-new', '-x509', '-key', p(name).key, '-out', p(name).cert, '-days', '2',
      '-subj', `/CN=${cn}`, '-extensions', 'ca_ext', '-set_serial', String(serial++))
    return p(name)
  }
  const issue = (name: string, cn: string, ca: CertPair, ext: 'server_ext' | 'client_ext', rsa = false, org?: string): CertPair => {
    newKey(name, rsa)
    ssl('req', '-config', cnf, '-new', '-key', p(name).key, '-out', join(dir, `${name}.csr`), '-subj', `${org === undefined ? '' : `/O=${org}`}/CN=${cn}`)
    ssl('x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-out', p(name).cert,
      '-days', '2', '-set_serial', String(serial++), '-extfile', cnf, '-extensions', ext, '-sha256')
    return p(name)
  }
  const ca = makeCa('ca', 'OCPP Gateway Test CA')
  const otherCa = makeCa('other-ca', 'Somebody Else CA')
  const server = issue('server', 'localhost', ca, 'server_ext')
  const server2 = issue('server2', 'localhost-renewed', ca, 'server_ext')
  const serverRsa = issue('server-rsa', 'localhost', ca, 'server_ext', true)
  const serverRsa2 = issue('server-rsa2', 'localhost-rsa-renewed', ca, 'server_ext', true)
  const clientGood = issue('client-good', cid, ca, 'client_ext')
  const clientOrg = issue('client-org', cid, ca, 'client_ext', false, 'My CPO')
  const clientOtherOrg = issue('client-other-org', cid, ca, 'client_ext', false, 'Other CPO')
  const clientOtherCn = issue('client-other-cn', `${cid}-other`, ca, 'client_ext')
  const clientOtherCa = issue('client-other-ca', cid, otherCa, 'client_ext')
  // Expired: valid for one day in 2020. `openssl ca` is the portable way to set past dates.
  const clientExpired = p('client-expired')
  newKey('client-expired')
  ssl('req', '-config', cnf, '-new', '-key', clientExpired.key, '-out', join(dir, 'client-expired.csr'), '-subj', `/CN=${cid}`)
  ssl('ca', '-batch', '-config', cnf, '-cert', ca.cert, '-keyfile', ca.key, '-in', join(dir, 'client-expired.csr'),
    '-out', clientExpired.cert, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext')
  return {
    dir,
    cid,
    ca,
    otherCa,
    server,
    server2,
    serverRsa,
    serverRsa2,
    clientGood,
    clientOrg,
    clientOtherOrg,
    clientOtherCn,
    clientOtherCa,
    clientExpired,
    cleanup: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}
