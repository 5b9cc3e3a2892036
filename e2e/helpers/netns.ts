import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A Linux network namespace joined to the host by a veth pair, for "blocked network" e2e tests:
 * host side 198.18.0.1/30, namespace side 198.18.0.2/30 (RFC 2544 benchmark space, never routed),
 * default route via the host. A browser started through `chromiumWrapper` lives inside it and
 * reaches only what listens on 198.18.0.1 (or 0.0.0.0) on the host, minus what `blockAllExcept`
 * drops. Everything is removed by `remove()`, and `removeStaleNetns()` cleans up after a crash.
 */

export const NETNS_PREFIX = 'rc-';
const VETH_HOST_PREFIX = 'rcv-';
const VETH_NS_PREFIX = 'rcp-';
export const NETNS_HOST_IP = '198.18.0.1';
export const NETNS_NS_IP = '198.18.0.2';
const PREFIX_LENGTH = 30;
const commandTimeoutMs = 10_000;

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; rejects with its stderr when it fails. */
export function run(file: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: commandTimeoutMs }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** Why namespace tests cannot run here, or null when they can (root, and `ip netns` works). */
export async function netnsUnavailableReason(): Promise<string | null> {
  if (process.platform !== 'linux')
    return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'network namespaces need root (run the e2e suite as root, as CI does)';
  }
  const probe = `${NETNS_PREFIX}probe-${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (error) {
    return `\`ip netns add\` does not work here: ${(error as Error).message}`;
  }
  await run('ip', ['netns', 'delete', probe]).catch(() => undefined);
  try {
    await run('iptables', ['--version']);
  } catch (error) {
    return `iptables is missing: ${(error as Error).message}`;
  }
  return null;
}

async function listNetns(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  // Lines look like "rc-ab12cd (id: 3)" or just "rc-ab12cd".
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

async function listHostVeths(): Promise<string[]> {
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'type', 'veth']);
  // "12: rcv-ab12cd@if11: <...>"
  return stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^@:\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(VETH_HOST_PREFIX));
}

/**
 * Deletes `rc-*` namespaces left behind by a crashed run (only those with no process inside,
 * so a namespace another run is using right now is left alone) and orphaned `rcv-*` veths.
 */
export async function removeStaleNetns(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNetns()) {
    if (!name.startsWith(NETNS_PREFIX)) continue;
    const { stdout: pids } = await run('ip', ['netns', 'pids', name]).catch(() => ({
      stdout: '',
    }));
    if (pids.trim() !== '') continue;
    await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    removed.push(name);
  }
  for (const veth of await listHostVeths()) {
    const suffix = veth.slice(VETH_HOST_PREFIX.length);
    if ((await listNetns()).includes(`${NETNS_PREFIX}${suffix}`)) continue;
    await run('ip', ['link', 'delete', veth]).catch(() => undefined);
    removed.push(veth);
  }
  return removed;
}

/** TCP ports on the host (198.18.0.1) the namespace may still reach. */
export interface FirewallPlan {
  allowTcpPorts: readonly number[];
}

export interface Netns {
  readonly name: string;
  readonly hostIp: string;
  readonly nsIp: string;
  /** Runs a command inside the namespace (`ip netns exec NAME ...`). */
  exec(file: string, args: readonly string[]): Promise<CommandResult>;
  /**
   * Inside the namespace: drop ALL UDP, ICMP and every TCP connection except to 198.18.0.1 on
   * the given ports (both directions; loopback stays open). Replaces any earlier plan.
   */
  blockAllExcept(plan: FirewallPlan): Promise<void>;
  /** Flushes the namespace's firewall (everything allowed again). */
  clearFirewall(): Promise<void>;
  /** Whether a TCP connection from inside the namespace to 198.18.0.1:port opens within 2 s. */
  tcpReachable(port: number): Promise<boolean>;
  /** Sends one UDP datagram from inside the namespace to 198.18.0.1:port (it may be dropped). */
  sendUdp(port: number, text: string): Promise<void>;
  /** The namespace's iptables rules, for error messages. */
  describeFirewall(): Promise<string>;
  /** An executable that runs /usr/bin/chromium inside the namespace (Playwright `executablePath`). */
  chromiumWrapper(chromiumPath?: string): Promise<string>;
  /** Deletes the namespace, the veth pair and the wrapper script; safe to call twice. */
  remove(): Promise<void>;
}

/** Creates `rc-<random>` with its veth pair, addresses, loopback and default route. */
export async function createNetns(): Promise<Netns> {
  const suffix = randomBytes(3).toString('hex');
  const name = `${NETNS_PREFIX}${suffix}`;
  // Interface names are limited to 15 characters.
  const vethHost = `${VETH_HOST_PREFIX}${suffix}`;
  const vethNs = `${VETH_NS_PREFIX}${suffix}`;
  let wrapperDir: string | null = null;
  let removed = false;

  const inNs = (file: string, args: readonly string[]) =>
    run('ip', ['netns', 'exec', name, file, ...args]);
  const iptables = (args: readonly string[]) => inNs('iptables', ['-w', '5', ...args]);
  const clearFirewall = async () => {
    await iptables(['-F']);
  };

  const remove = async () => {
    if (removed) return;
    removed = true;
    // Deleting the namespace destroys the veth end inside it, which destroys the pair; the
    // explicit link delete covers a half-built setup. The rules live in the namespace.
    await run('ip', ['link', 'delete', vethHost]).catch(() => undefined);
    await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    if (wrapperDir !== null) await rm(wrapperDir, { recursive: true, force: true });
  };

  try {
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs]);
    await run('ip', ['link', 'set', vethNs, 'netns', name]);
    await run('ip', ['addr', 'add', `${NETNS_HOST_IP}/${PREFIX_LENGTH}`, 'dev', vethHost]);
    await run('ip', ['link', 'set', vethHost, 'up']);
    await inNs('ip', ['addr', 'add', `${NETNS_NS_IP}/${PREFIX_LENGTH}`, 'dev', vethNs]);
    await inNs('ip', ['link', 'set', vethNs, 'up']);
    await inNs('ip', ['link', 'set', 'lo', 'up']);
    await inNs('ip', ['route', 'add', 'default', 'via', NETNS_HOST_IP]);
  } catch (error) {
    await remove();
    throw error;
  }

  return {
    name,
    hostIp: NETNS_HOST_IP,
    nsIp: NETNS_NS_IP,
    exec: inNs,
    async blockAllExcept({ allowTcpPorts }) {
      await clearFirewall();
      const rules: string[][] = [
        ['-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT'],
        ['-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT'],
      ];
      for (const port of allowTcpPorts) {
        const p = String(port);
        rules.push([
          '-A',
          'OUTPUT',
          '-p',
          'tcp',
          '-d',
          NETNS_HOST_IP,
          '--dport',
          p,
          '-j',
          'ACCEPT',
        ]);
        rules.push(['-A', 'INPUT', '-p', 'tcp', '-s', NETNS_HOST_IP, '--sport', p, '-j', 'ACCEPT']);
      }
      rules.push(['-A', 'OUTPUT', '-j', 'DROP'], ['-A', 'INPUT', '-j', 'DROP']);
      for (const rule of rules) await iptables(rule);
    },
    clearFirewall,
    async tcpReachable(port) {
      const script =
        `const s = require('net').connect(${port}, '${NETNS_HOST_IP}');` +
        `s.setTimeout(2000, () => process.exit(3));` +
        `s.on('connect', () => { s.end(); process.exit(0); });` +
        `s.on('error', () => process.exit(4));`;
      return inNs(process.execPath, ['-e', script]).then(
        () => true,
        () => false,
      );
    },
    async sendUdp(port, text) {
      const script =
        `const s = require('dgram').createSocket('udp4');` +
        `s.send(${JSON.stringify(text)}, ${port}, '${NETNS_HOST_IP}', () => s.close());`;
      await inNs(process.execPath, ['-e', script]).catch(() => undefined);
    },
    async describeFirewall() {
      return (await iptables(['-S'])).stdout;
    },
    async chromiumWrapper(chromiumPath = '/usr/bin/chromium') {
      if (wrapperDir === null) wrapperDir = await mkdtemp(path.join(tmpdir(), `${name}-`));
      const wrapper = path.join(wrapperDir, 'chromium-in-netns');
      // `ip netns exec` execs the command, so Playwright's pipe and pid stay the browser's.
      await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${name} ${chromiumPath} "$@"\n`);
      await chmod(wrapper, 0o755);
      return wrapper;
    },
    remove,
  };
}

/** True while a namespace with this name exists. */
export async function netnsExists(name: string): Promise<boolean> {
  return (await listNetns()).includes(name);
}
