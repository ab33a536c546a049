// The commands of the measuring checks (iperf3 for throughput, ping for latency) and pure
// parsers of what they print, so the evaluators in measure.ts are unit-tested on recorded output.
import { shellQuote } from '../vm/init.ts';
import { listeningCommand } from '../topology/readiness.ts';

/** Files of the check's iperf3 server inside the VM (/tmp is the VM's own tmpfs). */
const serverFiles = (port: number) => ({ pid: `/tmp/umlab-iperf3-${port}.pid`, log: `/tmp/umlab-iperf3-${port}.log` });

/** Starts a one-off iperf3 server on `port` in the background and returns once it listens (exit 1
 *  with its log when it does not within 5 s). */
export function iperfServerCommand(port: number): string {
  const f = serverFiles(port);
  return [
    `iperf3 -s -1 -p ${port} > ${f.log} 2>&1 < /dev/null & echo $! > ${f.pid}`,
    `i=0; until ${listeningCommand('tcp', port)}; do i=$((i+1)); if [ $i -ge 50 ]; then cat ${f.log}; exit 1; fi; sleep 0.1; done`,
  ].join('\n');
}

/** Stops the check's server if it still runs (it exits by itself after one test) and removes its files. */
export function iperfStopCommand(port: number): string {
  const f = serverFiles(port);
  return `kill $(cat ${f.pid} 2>/dev/null) 2>/dev/null; rm -f ${f.pid} ${f.log}; true`;
}

/** The client: `seconds` of TCP to the server, JSON output; `reverse`: the server sends. */
export function iperfClientCommand(address: string, port: number, seconds: number, reverse: boolean): string {
  return `iperf3 -c ${shellQuote(address)} -p ${port} -t ${seconds} --connect-timeout 5000 -J${reverse ? ' -R' : ''}`;
}

export interface IperfResult {
  /** What the receiving end got, bit/s. */
  receivedBps: number;
  sentBps: number;
  /** TCP retransmissions of the sender, when iperf3 reports them. */
  retransmits?: number;
}

/** iperf3 -J output -> the rates, or what went wrong (iperf3's own "error" field, or unreadable output). */
export function parseIperf(stdout: string): IperfResult | { error: string } {
  let json: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { bits_per_second?: number; retransmits?: number } } };
  try {
    json = JSON.parse(stdout);
  } catch {
    return { error: `iperf3 printed no JSON: ${stdout.trim().slice(0, 200) || '(nothing)'}` };
  }
  if (json.error) return { error: `iperf3: ${json.error}` };
  const received = json.end?.sum_received?.bits_per_second;
  const sent = json.end?.sum_sent?.bits_per_second;
  if (typeof received !== 'number' || typeof sent !== 'number') return { error: 'iperf3 reported no totals' };
  const retransmits = json.end?.sum_sent?.retransmits;
  return { receivedBps: received, sentBps: sent, ...(typeof retransmits === 'number' && { retransmits }) };
}

/** `count` echo requests 0.2 s apart, each waited for up to 2 s; numeric output. */
export function latencyPingCommand(address: string, count: number): string {
  return `ping -n -c ${count} -i 0.2 -W 2 ${shellQuote(address)}`;
}

export interface RttSummary {
  transmitted: number;
  received: number;
  /** Seconds. */
  min: number;
  avg: number;
  max: number;
}

/** iputils ping's summary; `rtt` null when no reply came back; null when it is not ping's output. */
export function parseRtt(stdout: string): { transmitted: number; received: number; rtt: RttSummary | null } | null {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  if (!counts) return null;
  const transmitted = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(stdout);
  return {
    transmitted,
    received,
    rtt: rtt ? { transmitted, received, min: Number(rtt[1]) / 1000, avg: Number(rtt[2]) / 1000, max: Number(rtt[3]) / 1000 } : null,
  };
}
