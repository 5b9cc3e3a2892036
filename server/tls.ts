import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from './config';

export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** `generated`: a new self-signed certificate was written just now. */
  source: 'files' | 'self-signed' | 'generated';
}

/** A self-signed certificate is renewed when it has less than this left. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const VALIDITY_DAYS = 365;

/** This machine's non-loopback IPv4 and global IPv6 addresses: what a phone on the LAN can reach. */
export function lanAddresses(interfaces = networkInterfaces()): string[] {
  const found: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4') found.push(info.address);
      // Link-local IPv6 needs a zone id in URLs; browsers cannot use it.
      else if (!info.address.toLowerCase().startsWith('fe80:')) found.push(info.address);
    }
  }
  return [...new Set(found)];
}

/** DNS names and IPs the self-signed certificate covers. */
export function selfSignedHosts(lan: string[] = lanAddresses(), host = hostname()): string[] {
  const names = ['localhost', host, `${host}.local`].filter((n) => /^[A-Za-z0-9.-]+$/.test(n));
  return [...new Set([...names, '127.0.0.1', '::1', ...lan])];
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

/** The certificate's names in X509Certificate.subjectAltName's spelling. */
function sanEntries(cert: X509Certificate): Set<string> {
  return new Set(
    (cert.subjectAltName ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

function covers(pem: string, hosts: string[], now: number): boolean {
  try {
    const cert = new X509Certificate(pem);
    if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return false;
    const san = sanEntries(cert);
    // Node prints IPv6 SANs expanded, so compare IPv6 entries through the parser's own output.
    return hosts.every((h) =>
      isIp(h)
        ? san.has(`IP Address:${h}`) || (h.includes(':') && [...san].some((e) => ipv6Equal(e, h)))
        : san.has(`DNS:${h}`),
    );
  } catch {
    return false;
  }
}

function ipv6Equal(entry: string, address: string): boolean {
  if (!entry.startsWith('IP Address:')) return false;
  const expand = (a: string) => {
    const [head = '', tail = ''] = a.toLowerCase().split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const fill = a.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
    return [...h, ...fill, ...t].map((p) => p.replace(/^0+(?=.)/, '')).join(':');
  };
  return expand(entry.slice('IP Address:'.length)) === expand(address);
}

/**
 * A certificate for `hosts` in `dir` (self-signed-cert.pem, self-signed-key.pem, key 0600).
 * Kept while it is valid for all of them, so the browser's "proceed anyway" keeps working
 * across restarts; regenerated when an address is new or it is about to expire.
 */
export async function ensureSelfSignedCert(
  dir: string,
  hosts: string[],
  now = Date.now(),
): Promise<TlsMaterial> {
  const certFile = path.join(dir, 'self-signed-cert.pem');
  const keyFile = path.join(dir, 'self-signed-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    if (covers(cert, hosts, now)) {
      return { cert, key: readFileSync(keyFile, 'utf8'), certFile, keyFile, source: 'self-signed' };
    }
  }
  const notBeforeDate = new Date(now - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'roomcast (self-signed)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(now + VALIDITY_DAYS * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hosts.map((h) => (isIp(h) ? { type: 7, ip: h } : { type: 2, value: h })),
      },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, certFile, keyFile, source: 'generated' };
}

/**
 * TLS from the configuration: TLS_CERT_FILE + TLS_KEY_FILE win; else `--self-signed` /
 * SELF_SIGNED=1 makes (or reuses) a certificate in DATA_DIR; else null (plain HTTP).
 */
export async function resolveTls(
  config: Pick<Config, 'tls' | 'dataDir'>,
  options: { selfSigned?: boolean; hosts?: string[] } = {},
): Promise<TlsMaterial | null> {
  const { certFile, keyFile } = config.tls;
  if (certFile !== null && keyFile !== null) {
    return {
      cert: readFileSync(certFile, 'utf8'),
      key: readFileSync(keyFile, 'utf8'),
      certFile,
      keyFile,
      source: 'files',
    };
  }
  if (!(options.selfSigned ?? config.tls.selfSigned)) return null;
  return ensureSelfSignedCert(
    path.resolve(config.dataDir, 'tls'),
    options.hosts ?? selfSignedHosts(),
  );
}

/** The URLs to print: localhost, and every LAN address when listening on all of them. */
export function serverUrls(
  scheme: 'http' | 'https',
  listenHost: string,
  port: number,
  lan: string[] = lanAddresses(),
): string[] {
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::';
  const hosts = wildcard ? ['localhost', ...lan] : [listenHost];
  return hosts.map((h) => `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}`);
}
