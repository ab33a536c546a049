// One evaluator per check kind: run the probe through `exec`, parse, compare with the
// expectation. A check whose probe could not run at all is an error, never a pass.
import type { DecodedFrame } from '../capture/decode.ts';
import type { CaptureTest, CommandTest, LabTest, PortTest, ReachTest, StateTest } from '../topology/model.ts';
import { formatSeconds } from '../topology/measures.ts';
import { describeMatch, frameMatches, resolveMatch } from './frames.ts';
import { latency, throughput } from './measure.ts';
import {
  classifyPortProbe,
  normaliseRoute,
  parseAddresses,
  parseListening,
  parsePing,
  parseSysctlLines,
  parseTraceroute,
  pingCommand,
  portOf,
  portProbeCommand,
  splitSections,
  stateCommand,
  tracerouteCommand,
  type ExecFn,
} from './probes.ts';
import type { Resolver } from './resolve.ts';

export type CheckStatus = 'pass' | 'fail' | 'error';

export interface CheckResult {
  name: string;
  kind: LabTest['kind'] | 'signature';
  status: CheckStatus;
  /** One line: what was expected and what was seen. */
  message: string;
  /** Commands run, as "vm: command", so a failure can be reproduced with `umlab exec`. */
  commands: string[];
  /** Longer detail (a diff, output of the command). */
  detail?: string;
  durationMs: number;
  /** How often a check with `within:` ran. */
  tries?: number;
}

export interface CheckEnv {
  exec: ExecFn;
  resolver: Resolver;
  /** Frames of a link captured since the test run began (after the traffic settled). */
  framesOf(link: string): Promise<DecodedFrame[]>;
}

type Outcome = Omit<CheckResult, 'name' | 'kind' | 'durationMs' | 'commands'>;

/** An error thrown by an evaluator: the check could not run. */
class CannotRun extends Error {}

/** Pause between two tries of a check with `within:`. */
export const WITHIN_RETRY_MS = 500;

/** Runs a check; one with `within:` again until it passes or that time is up (the result says how often and how long). */
export async function evaluate(check: LabTest, env: CheckEnv, retryMs = WITHIN_RETRY_MS): Promise<CheckResult> {
  if (check.within === undefined) return evaluateOnce(check, env);
  const started = Date.now();
  const deadline = started + check.within * 1000;
  for (let tries = 1; ; tries++) {
    const r = await evaluateOnce(check, env);
    const spent = formatSeconds((Date.now() - started) / 1000);
    if (r.status === 'pass') return { ...r, tries, durationMs: Date.now() - started, message: `${r.message} (try ${tries}, after ${spent})` };
    // Time left: another try once the pause is over (or the time is), the last one at the deadline at the latest.
    if (Date.now() >= deadline)
      return {
        ...r,
        tries,
        durationMs: Date.now() - started,
        message: `${r.message} (still so after ${tries} ${tries === 1 ? 'try' : 'tries'} in ${spent}, within: ${formatSeconds(check.within)})`,
      };
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs, deadline - Date.now())));
  }
}

async function evaluateOnce(check: LabTest, env: CheckEnv): Promise<CheckResult> {
  const started = Date.now();
  const commands: string[] = [];
  const exec: ExecFn = (vm, command, timeoutMs) => {
    commands.push(`${vm}: ${command}`);
    return env.exec(vm, command, timeoutMs);
  };
  const local = { ...env, exec };
  let outcome: Outcome;
  try {
    switch (check.kind) {
      case 'reach':
        outcome = await reach(check, local);
        break;
      case 'tcp':
      case 'udp':
        outcome = await port(check, local);
        break;
      case 'command':
        outcome = await command(check, local);
        break;
      case 'capture':
        outcome = await capture(check, local);
        break;
      case 'state':
        outcome = await state(check, local);
        break;
      case 'throughput':
        outcome = await throughput(check, exec, env.resolver);
        break;
      case 'latency':
        outcome = await latency(check, exec, env.resolver);
        break;
    }
  } catch (error) {
    outcome = { status: 'error', message: `could not run: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { name: check.name, kind: check.kind, ...outcome, commands, durationMs: Date.now() - started };
}

const pass = (message: string): Outcome => ({ status: 'pass', message });
const fail = (message: string, detail?: string): Outcome => ({ status: 'fail', message, ...(detail ? { detail } : {}) });

function output(r: { stdout: string; stderr: string }): string {
  return [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join('\n');
}

async function reach(check: ReachTest, env: CheckEnv): Promise<Outcome> {
  const address = env.resolver.targetAddress(check.to);
  const target = address === check.to ? address : `${check.to} (${address})`;
  const r = await env.exec(check.from, pingCommand(address), 15_000);
  const ping = parsePing(r.stdout, r.stderr);
  if (!ping) throw new CannotRun(`ping printed no summary (exit ${r.exitCode}): ${output(r).slice(0, 300)}`);
  const answered = ping.received > 0;
  const seen = answered ? `${ping.received}/${ping.transmitted} echo replies` : `no echo reply${ping.problem ? ` (${ping.problem})` : ''}`;
  if (check.expect === 'failure')
    return answered ? fail(`expected ${target} NOT to answer ${check.from}'s ping, but got ${seen}`) : pass(`${check.from} cannot reach ${target}: ${seen}`);
  if (!answered) return fail(`expected ${check.from} to reach ${target}, but got ${seen}`, output(r));
  if (check.ttl !== undefined && !ping.ttls.every((t) => t === check.ttl))
    return fail(`expected replies from ${target} with ttl ${check.ttl}, saw ttl ${[...new Set(ping.ttls)].join(', ')}`);
  if (check.path !== undefined) {
    const t = await env.exec(check.from, tracerouteCommand(address, check.path.length + 3), 30_000);
    const hops = parseTraceroute(t.stdout);
    if (!hops) throw new CannotRun(`traceroute did not run (exit ${t.exitCode}): ${output(t).slice(0, 300)}`);
    const before = hops[hops.length - 1] === address ? hops.slice(0, -1) : hops;
    const name = (hop: string) => (hop === '*' ? '*' : (env.resolver.vmOfAddress(hop) ?? hop));
    // Routers are compared by VM name; an address in the path stands for its VM.
    const expected = check.path.map(name);
    const seenPath = before.map(name);
    const reached = hops[hops.length - 1] === address;
    const same = reached && seenPath.length === expected.length && seenPath.every((h, i) => h === expected[i]);
    const show = (p: string[]) => (p.length ? p.join(' -> ') : '(direct)');
    if (!same)
      return fail(
        `expected the path ${show(expected)} -> ${check.to}, traceroute saw ${show(seenPath)}${reached ? ` -> ${check.to}` : ' (did not arrive)'}`,
        t.stdout,
      );
    return pass(`${check.from} reaches ${target} via ${show(seenPath)}`);
  }
  return pass(`${check.from} reaches ${target}: ${seen}${check.ttl !== undefined ? `, ttl ${check.ttl}` : ''}`);
}

async function port(check: PortTest, env: CheckEnv): Promise<Outcome> {
  const address = env.resolver.targetAddress(check.to);
  const target = `${check.kind.toUpperCase()} ${address === check.to ? address : `${check.to} (${address})`}:${check.port}`;
  const r = await env.exec(check.from, portProbeCommand(check.kind, address, check.port, check.timeout), (check.timeout + 10) * 1000);
  const probe = classifyPortProbe(check.kind, r);
  if (!probe) throw new CannotRun(`the probe failed (exit ${r.exitCode}): ${output(r).slice(0, 300)}`);
  if (probe.state !== check.expect) return fail(`expected ${target} to be ${check.expect} from ${check.from}, but it is ${probe.state} (${probe.evidence})`);
  return pass(`${target} is ${probe.state} from ${check.from} (${probe.evidence})`);
}

async function command(check: CommandTest, env: CheckEnv): Promise<Outcome> {
  const r = await env.exec(check.vm, check.run, 60_000);
  const wantExit = check.exit ?? (check.stdout === undefined ? 0 : undefined);
  if (wantExit !== undefined && r.exitCode !== wantExit) return fail(`expected exit code ${wantExit}, got ${r.exitCode}`, output(r));
  if (check.stdout !== undefined && !new RegExp(check.stdout, 'm').test(r.stdout))
    return fail(`expected the output to match /${check.stdout}/, it did not`, output(r) || '(no output)');
  return pass(`exit ${r.exitCode}${check.stdout !== undefined ? `, output matches /${check.stdout}/` : ''}`);
}

async function capture(check: CaptureTest, env: CheckEnv): Promise<Outcome> {
  const link = env.resolver.link(check.link);
  if (!link) throw new CannotRun(`no link ${check.link} in the lab`);
  if (!link.capture) throw new CannotRun(`capture is off for link ${link.name}`);
  for (const step of check.do) await env.exec(step.vm, step.run, 60_000);
  const match = resolveMatch(check.match, env.resolver);
  const frames = await env.framesOf(link.name);
  const hits = frames.filter((f) => frameMatches(f, match));
  const what = `a frame with ${describeMatch(check.match)} on ${link.name}`;
  const sample = (list: DecodedFrame[]) =>
    list
      .slice(0, 8)
      .map((f) => f.summary)
      .join('\n');
  if (check.expect === 'present')
    return hits.length > 0
      ? pass(`${hits.length} frame(s) with ${describeMatch(check.match)} on ${link.name}`)
      : fail(`expected ${what}, none among ${frames.length} frames captured during the run`, sample(frames));
  return hits.length === 0
    ? pass(`no frame with ${describeMatch(check.match)} on ${link.name} (${frames.length} frames looked at)`)
    : fail(`expected no ${what.slice(2)}, saw ${hits.length}`, sample(hits));
}

async function state(check: StateTest, env: CheckEnv): Promise<Outcome> {
  const sysctls = Object.keys(check.sysctl);
  const r = await env.exec(check.vm, stateCommand(sysctls), 30_000);
  if (r.exitCode !== 0) throw new CannotRun(`reading the state failed (exit ${r.exitCode}): ${output(r).slice(0, 300)}`);
  const s = splitSections(r.stdout);
  const missing: string[] = [];
  const routes = (s.routes ?? []).map(normaliseRoute);
  for (const want of check.routes) if (!routes.some((route) => route.startsWith(normaliseRoute(want)))) missing.push(`route "${want}"`);
  const addresses = parseAddresses(s.addresses ?? []);
  for (const want of check.addresses) {
    const [iface, cidr] = want.includes(' ') ? want.split(/\s+/) : [undefined, want];
    if (!addresses.some((a) => a.cidr === cidr && (iface === undefined || a.iface === iface))) missing.push(`address ${want}`);
  }
  const values = parseSysctlLines(s.sysctl ?? []);
  for (const [name, value] of Object.entries(check.sysctl))
    if (values.get(name) !== value) missing.push(`sysctl ${name}=${value} (is ${values.get(name) || 'unset'})`);
  const listening = parseListening(s.listening ?? []);
  for (const want of check.listening) {
    const [proto, p] = want.split(':');
    if (!listening.some((l) => l.startsWith(proto + ' ') && portOf(l) === Number(p))) missing.push(`a ${proto} socket listening on port ${p}`);
  }
  if (missing.length) {
    const seen = [
      `routes:\n${routes.join('\n')}`,
      `addresses: ${addresses.map((a) => `${a.iface} ${a.cidr}`).join(', ')}`,
      `listening: ${listening.join(', ') || 'none'}`,
    ].join('\n');
    return fail(`${check.vm} lacks ${missing.join('; ')}`, seen);
  }
  return pass(
    `${check.vm} has ${[check.routes.length && `${check.routes.length} route(s)`, check.addresses.length && `${check.addresses.length} address(es)`, sysctls.length && `${sysctls.length} sysctl(s)`, check.listening.length && `${check.listening.length} listening port(s)`].filter(Boolean).join(', ') || 'nothing to check'}`,
  );
}
