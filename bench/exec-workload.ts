// The exec workload shared by bench/exec.ts and test/vm/exec-stress.test.ts: many execs over a
// running lab, in parallel and in sequence, each one's output checked byte for byte against
// what its own command must print (a unique token, a generated payload of 0..200 KB, its own
// stderr and exit code), so a reply given to the wrong request, a truncated one or a lost one
// is counted, and the latency above the command's own time is measured.
import { LabClient } from '../src/client/lab-client.ts';

export type ExecKind = 'tiny' | 'large' | 'sleeper' | 'ping' | 'abandoned';

export interface ExecSpec {
  seq: number;
  vm: string;
  kind: ExecKind;
  command: string;
  /** What the command takes by itself (its sleeps and ping intervals), in ms. */
  ownMs: number;
  expected?: { stdout: Buffer; stderr: Buffer; exitCode: number };
  /** The request's timeout (the supervisor answers 'timeout' after it). */
  timeoutMs: number;
}

export interface ExecOutcome {
  spec: ExecSpec;
  ms: number;
  /** ms above the command's own time. */
  overMs: number;
  verdict: 'ok' | 'mixed-up' | 'stuck' | 'timed-out-as-asked' | 'error';
  detail?: string;
}

/** A lab of `count` VMs h1..hN on one switch, 10.0.0.0/24: its YAML, VM names and addresses. */
export function switchLab(name: string, count: number): { yaml: string; vms: string[]; addresses: Map<string, string> } {
  const vms = Array.from({ length: count }, (_, i) => `h${i + 1}`);
  const addresses = new Map(vms.map((vm, i) => [vm, `10.0.0.${i + 1}`]));
  const yaml =
    [
      `name: ${name}`,
      'switches:',
      '  sw0: {}',
      'vms:',
      ...vms.flatMap((vm) => [`  ${vm}:`, '    interfaces:', `      eth0: { connect: sw0, ip: ${addresses.get(vm)}/24 }`]),
    ].join('\n') + '\n';
  return { yaml, vms, addresses };
}

/** A small deterministic generator (mulberry32), so a run can be repeated. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `yes LINE | head -c SIZE` on the host: the bytes that command prints in the VM. */
export function yesPayload(line: string, size: number): Buffer {
  const unit = Buffer.from(line + '\n');
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, size - i));
  return out;
}

export interface WorkloadOptions {
  vms: string[];
  /** address of each VM (for pings to its neighbour) */
  addresses: Map<string, string>;
  seed: number;
  /** Largest generated payload (bytes). */
  maxPayload: number;
  /** Bound added to a command's own time before its reply counts as stuck. */
  stuckAfterMs: number;
}

/** The n-th exec of the run: mostly tiny and large outputs, some sleepers and pings, a few whose
 *  caller gives up (the request's timeout expires while the command still runs). */
export function makeSpec(seq: number, vm: string, rnd: () => number, o: WorkloadOptions): ExecSpec {
  const token = `tok-${seq}-${vm}-${Math.floor(rnd() * 1e9).toString(36)}`;
  const exitCode = seq % 7 === 0 ? seq % 200 : 0;
  const stderr = Buffer.from(`err-${token}\n`);
  const tail = `echo err-${token} >&2; exit ${exitCode}`;
  const bound = (ownMs: number) => ownMs + o.stuckAfterMs;
  const r = rnd();
  if (r < 0.5) {
    return {
      seq,
      vm,
      kind: 'tiny',
      command: `echo ${token}; ${tail}`,
      ownMs: 0,
      timeoutMs: bound(0),
      expected: { stdout: Buffer.from(token + '\n'), stderr, exitCode },
    };
  }
  if (r < 0.8) {
    const size = Math.floor(rnd() ** 2 * o.maxPayload);
    const command = `echo ${token}; yes ${token} | head -c ${size}; ${tail}`;
    const stdout = Buffer.concat([Buffer.from(token + '\n'), yesPayload(token, size)]);
    return { seq, vm, kind: 'large', command, ownMs: 0, timeoutMs: bound(0), expected: { stdout, stderr, exitCode } };
  }
  if (r < 0.9) {
    const ownMs = 100 + Math.floor(rnd() * 20) * 100;
    const command = `sleep ${ownMs / 1000}; echo ${token}; ${tail}`;
    return { seq, vm, kind: 'sleeper', command, ownMs, timeoutMs: bound(ownMs), expected: { stdout: Buffer.from(token + '\n'), stderr, exitCode } };
  }
  if (r < 0.97) {
    const neighbour = o.addresses.get(o.vms[(o.vms.indexOf(vm) + 1) % o.vms.length]!)!;
    // 20 pings 50 ms apart: ~1 s of its own (ping's own figure counts); the output must start with its token.
    const command = `echo ${token}; ping -c 20 -i 0.05 -W 2 ${neighbour} | tail -2`;
    return { seq, vm, kind: 'ping', command, ownMs: 19 * 50, timeoutMs: bound(19 * 50) };
  }
  // The caller gives up after 300 ms (like a Ctrl-C or --timeout): the command outlives it.
  return { seq, vm, kind: 'abandoned', command: `sleep 2; echo ${token}`, ownMs: 300, timeoutMs: 300 };
}

/** Runs one exec and judges its reply. */
export async function runOne(client: LabClient, spec: ExecSpec): Promise<ExecOutcome> {
  const started = performance.now();
  let reply;
  try {
    reply = await client.execReply(spec.vm, spec.command, spec.timeoutMs);
  } catch (error) {
    return outcome(spec, started, 'error', String(error));
  }
  if (!reply.ok) {
    if (reply.code === 'timeout') return outcome(spec, started, spec.kind === 'abandoned' ? 'timed-out-as-asked' : 'stuck', reply.error);
    return outcome(spec, started, 'error', reply.error);
  }
  if (spec.kind === 'abandoned') return outcome(spec, started, 'error', 'answered although its command outlives the timeout');
  if (spec.kind === 'ping') {
    const text = reply.stdout.toString();
    const token = spec.command.split(';')[0]!.slice('echo '.length);
    if (!text.startsWith(token + '\n')) return outcome(spec, started, 'mixed-up', text.slice(0, 200));
    // A ping lost on a loaded machine is not the agent's fault: only its summary must be there.
    if (!/20 packets transmitted/.test(text)) return outcome(spec, started, 'error', `no ping summary: ${text}`);
    const own = /time (\d+)ms/.exec(text);
    return outcome({ ...spec, ownMs: own ? Number(own[1]) : spec.ownMs }, started, 'ok');
  }
  const want = spec.expected!;
  if (!reply.stdout.equals(want.stdout) || !reply.stderr.equals(want.stderr) || reply.exitCode !== want.exitCode) {
    const detail = `exit ${reply.exitCode} (want ${want.exitCode}), stdout ${reply.stdout.length} B starting ${JSON.stringify(reply.stdout.subarray(0, 60).toString())} (want ${want.stdout.length} B), stderr ${JSON.stringify(reply.stderr.toString().slice(0, 80))}`;
    return outcome(spec, started, 'mixed-up', detail);
  }
  return outcome(spec, started, 'ok');
}

function outcome(spec: ExecSpec, started: number, verdict: ExecOutcome['verdict'], detail?: string): ExecOutcome {
  const ms = performance.now() - started;
  return { spec, ms, overMs: Math.max(0, ms - spec.ownMs), verdict, ...(detail !== undefined && { detail }) };
}

export interface RunOptions extends WorkloadOptions {
  total: number;
  parallel: number;
  /** Each worker keeps to one VM (worker i to VM i mod n): execs in sequence on every VM.
   *  Otherwise each exec goes to a random VM, and one in ten to the first, the busy one. */
  pinned?: boolean;
  /** First sequence number (tokens stay unique over several runs). */
  firstSeq?: number;
  onProgress?: (done: number) => void;
}

/** `total` execs, `parallel` at a time. */
export async function runWorkload(client: LabClient, o: RunOptions): Promise<ExecOutcome[]> {
  const rnd = random(o.seed);
  const outcomes: ExecOutcome[] = [];
  let next = 0;
  const worker = async (w: number) => {
    while (next < o.total) {
      const seq = (o.firstSeq ?? 0) + next++;
      const vm = o.pinned ? o.vms[w % o.vms.length]! : rnd() < 0.1 ? o.vms[0]! : o.vms[Math.floor(rnd() * o.vms.length)]!;
      outcomes.push(await runOne(client, makeSpec(seq, vm, rnd, o)));
      o.onProgress?.(outcomes.length);
    }
  };
  await Promise.all(Array.from({ length: o.parallel }, (_, w) => worker(w)));
  return outcomes;
}

export interface Summary {
  execs: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  stuck: number;
  mixedUp: number;
  errors: number;
  timedOutAsAsked: number;
  worst: ExecOutcome[];
}

export function summarize(outcomes: ExecOutcome[], seconds: number): Summary {
  const answered = outcomes
    .filter((o) => o.verdict === 'ok')
    .map((o) => o.overMs)
    .sort((a, b) => a - b);
  const at = (q: number) => (answered.length ? answered[Math.min(answered.length - 1, Math.floor(q * answered.length))]! : 0);
  const count = (v: ExecOutcome['verdict']) => outcomes.filter((o) => o.verdict === v).length;
  return {
    execs: outcomes.length,
    seconds,
    perSecond: outcomes.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: answered.at(-1) ?? 0,
    stuck: count('stuck'),
    mixedUp: count('mixed-up'),
    errors: count('error'),
    timedOutAsAsked: count('timed-out-as-asked'),
    worst: outcomes.filter((o) => o.verdict !== 'ok' && o.verdict !== 'timed-out-as-asked').slice(0, 10),
  };
}
