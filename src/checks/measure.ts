// The measuring checks: `throughput` (iperf3 between two VMs, a server started in `to` for the
// check and stopped after it) and `latency` (ping round-trip times). A bound that does not hold
// fails with the measured value; a measurement that could not be made throws (an ERROR).
import { formatRate, formatSeconds } from '../topology/measures.ts';
import type { LatencyTest, ThroughputTest } from '../topology/model.ts';
import { iperfClientCommand, iperfServerCommand, iperfStopCommand, latencyPingCommand, parseIperf, parseRtt } from './measure-probes.ts';
import type { ExecFn } from './probes.ts';
import type { Resolver } from './resolve.ts';

export interface Measured {
  status: 'pass' | 'fail';
  message: string;
  detail?: string;
}

const outputOf = (r: { stdout: string; stderr: string }) => [r.stdout.trim(), r.stderr.trim()].filter(Boolean).join('\n').slice(0, 300);

/** Which bounds a value breaks, as "at least 8 Mbit/s" phrases; empty when it keeps them all. */
function broken(value: number, bounds: [string, 'min' | 'max', number | undefined][], format: (n: number) => string): string[] {
  return bounds.flatMap(([what, side, limit]) => {
    if (limit === undefined) return [];
    const ok = side === 'min' ? value >= limit : value <= limit;
    return ok ? [] : [`${what} ${side === 'min' ? 'at least' : 'at most'} ${format(limit)}`];
  });
}

export async function throughput(check: ThroughputTest, exec: ExecFn, resolver: Resolver): Promise<Measured> {
  const address = resolver.targetAddress(check.to);
  const server = check.to.split('.')[0];
  const direction = check.reverse ? `${check.to} -> ${check.from}` : `${check.from} -> ${check.to}`;
  const started = await exec(server, iperfServerCommand(check.port), 20_000);
  if (started.exitCode !== 0) throw new Error(`the iperf3 server did not start in ${server} (exit ${started.exitCode}): ${outputOf(started)}`);
  let result;
  try {
    const r = await exec(check.from, iperfClientCommand(address, check.port, check.seconds, check.reverse), (check.seconds + 30) * 1000);
    result = parseIperf(r.stdout);
    if ('error' in result) throw new Error(`${result.error} (exit ${r.exitCode})${r.stderr.trim() ? `: ${r.stderr.trim().slice(0, 200)}` : ''}`);
  } finally {
    await exec(server, iperfStopCommand(check.port), 10_000).catch(() => undefined);
  }
  const rate = result.receivedBps;
  const seen = `${formatRate(rate)} ${direction} over ${check.seconds} s${result.retransmits !== undefined ? ` (${result.retransmits} retransmissions)` : ''}`;
  const bad = broken(
    rate,
    [
      ['a rate', 'min', check.min],
      ['a rate', 'max', check.max],
    ],
    formatRate,
  );
  return bad.length ? { status: 'fail', message: `expected ${bad.join(' and ')}, measured ${seen}` } : { status: 'pass', message: `measured ${seen}` };
}

export async function latency(check: LatencyTest, exec: ExecFn, resolver: Resolver): Promise<Measured> {
  const address = resolver.targetAddress(check.to);
  const target = address === check.to ? address : `${check.to} (${address})`;
  const r = await exec(check.from, latencyPingCommand(address, check.count), (check.count * 0.2 + 15) * 1000);
  const ping = parseRtt(r.stdout);
  if (!ping) throw new Error(`ping printed no summary (exit ${r.exitCode}): ${outputOf(r)}`);
  if (!ping.rtt) return { status: 'fail', message: `expected replies from ${target} to measure, got none of ${ping.transmitted}`, detail: r.stdout };
  const { min, avg, max } = ping.rtt;
  const seen = `RTT min ${formatSeconds(min)}, avg ${formatSeconds(avg)}, max ${formatSeconds(max)} (${ping.received}/${ping.transmitted} replies) from ${check.from} to ${target}`;
  const bad = [
    ...broken(min, [['the smallest RTT', 'min', check.min]], formatSeconds),
    ...broken(
      avg,
      [
        ['an average RTT', 'min', check.avgMin],
        ['an average RTT', 'max', check.avgMax],
      ],
      formatSeconds,
    ),
    ...broken(max, [['the largest RTT', 'max', check.max]], formatSeconds),
  ];
  return bad.length
    ? { status: 'fail', message: `expected ${bad.join(' and ')}, measured ${seen}`, detail: r.stdout }
    : { status: 'pass', message: `measured ${seen}` };
}
