// Each lab runs in its own network namespace (and a private mount namespace for the
// read-only root that hostfs is confined to). As root: a named `ip netns`; as an
// ordinary user: a user+net namespace from `unshare`, which dies with its last process.
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabRuntimeError, MissingDependencyError } from '../errors.ts';
import { umlabHome } from './paths.ts';

export type IsolationMode = 'netns' | 'userns';

export function isolationMode(): IsolationMode {
  return process.getuid?.() === 0 ? 'netns' : 'userns';
}

/** `umlab-<lab>` for labs of the default state directory; labs of another UMLAB_HOME
 *  (tests use their own) get a tag from it, so equal lab names never collide. */
export function netnsName(home: string, lab: string): string {
  const { UMLAB_HOME: _, ...env } = process.env;
  if (home === umlabHome(env)) return `umlab-${lab}`;
  return `umlab-${createHash('sha256').update(home).digest('hex').slice(0, 6)}-${lab}`;
}

/** The command line that starts `argv` inside the lab's namespaces. */
export function inLabNamespace(mode: IsolationMode, netns: string, argv: string[]): string[] {
  const privateMounts = ['unshare', '--mount', '--propagation', 'private', '--'];
  return mode === 'netns'
    ? ['ip', 'netns', 'exec', netns, ...privateMounts, ...argv]
    : ['unshare', '--user', '--map-root-user', '--net', '--mount', '--propagation', 'private', '--', ...argv];
}

export async function createNetns(name: string): Promise<void> {
  if (await netnsExists(name)) await deleteNetns(name);
  try {
    await execa('ip', ['netns', 'add', name]);
  } catch (cause) {
    throw new LabRuntimeError(`cannot create network namespace ${name}`, { cause });
  }
}

export async function deleteNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'delete', name], { reject: false });
}

/** Where `ip netns add` keeps its namespaces (iproute2's NETNS_RUN_DIR): a file each, so no `ip netns list`. */
const NETNS_DIR = '/run/netns';

export async function netnsExists(name: string): Promise<boolean> {
  return existsSync(join(NETNS_DIR, name));
}

let userNamespacesWork = false;

/** Fails early, with what to do, when an ordinary user cannot create namespaces. */
export async function checkUserNamespaces(): Promise<void> {
  // Once they worked they keep working for this process (a class server starts many labs).
  if (userNamespacesWork) return;
  const r = await execa('unshare', ['--user', '--map-root-user', '--net', 'true'], { reject: false });
  userNamespacesWork = r.exitCode === 0;
  if (r.exitCode !== 0)
    throw new MissingDependencyError(`cannot create a user+network namespace: ${r.stderr.trim()}`, {
      hint: 'run umlab as root, or allow unprivileged user namespaces: sudo sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000',
    });
}

/** /proc/sys/net is this process's namespace's: the lab's. */
const IPV6_DEFAULT_DISABLE = '/proc/sys/net/ipv6/conf/default/disable_ipv6';

/** Run by the supervisor inside the lab's namespace, before any engine: loopback up and
 *  multicast-capable, no IPv6 chatter of the host's kernel. */
export async function prepareLabNamespace(): Promise<void> {
  // Multicast segments use the loopback inside this namespace, never a host interface.
  await execa('ip', ['link', 'set', 'lo', 'up', 'multicast', 'on']);
  await execa('ip', ['route', 'add', '224.0.0.0/4', 'dev', 'lo'], { reject: false });
  // The bridges and veths created next must stay silent: no IPv6 link-local address, so no
  // router solicitation or MLD report of the host's kernel in a lab segment or its capture.
  if (existsSync(IPV6_DEFAULT_DISABLE)) writeFileSync(IPV6_DEFAULT_DISABLE, '1');
}
