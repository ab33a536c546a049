// Rules on what a lab waits for and measures: a VM's `ready:` conditions and `ready_timeout:`,
// a check's `within:`, and the bounds of throughput and latency checks (units, ranges, order).
import type { Diagnostic } from '../../errors.ts';
import { formatRate, formatSeconds } from '../measures.ts';
import { MAX_READY_TIMEOUT, parseReadyCondition } from '../readiness.ts';
import { testPath, type Rule } from './context.ts';

const DURATION_HINT = 'write a duration such as 30s, 500ms or 2m';

/** Each `ready:` entry is tcp:PORT, udp:PORT, file:/path or cmd: COMMAND; the timeout a duration of at most an hour. */
export const readyConditions: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const vm of ctx.lab.vms) {
    vm.ready.forEach((spec, i) => {
      const parsed = parseReadyCondition(spec);
      if ('error' in parsed) out.push(ctx.diag(['vms', vm.name, 'ready', i], 'value', parsed.error, parsed.hint));
    });
    const t = vm.readyTimeout;
    if (Number.isNaN(t)) out.push(ctx.diag(['vms', vm.name, 'ready_timeout'], 'value', 'ready_timeout is not a duration', DURATION_HINT));
    else if (!(t > 0 && t <= MAX_READY_TIMEOUT))
      out.push(ctx.diag(['vms', vm.name, 'ready_timeout'], 'value', `ready_timeout must be more than 0 and at most ${MAX_READY_TIMEOUT / 60}m`, DURATION_HINT));
    else if (vm.ready.length === 0 && ctx.has(['vms', vm.name, 'ready_timeout']))
      out.push(
        ctx.diag(
          ['vms', vm.name, 'ready_timeout'],
          'key',
          `${vm.name} has a ready_timeout but no ready: conditions`,
          'add `ready:` conditions, or remove ready_timeout',
        ),
      );
  }
  return out;
};

/** A longest `within:`: a check that needs more is waiting for something that will not come. */
export const MAX_WITHIN = 3600;

/** `within:` is a duration; throughput and latency bounds are rates and durations, at least one, lower below upper. */
export const checkBounds: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  ctx.lab.tests.forEach((t, i) => {
    if (t.within !== undefined) {
      if (Number.isNaN(t.within)) out.push(ctx.diag(testPath(i, 'within'), 'value', '`within:` is not a duration', DURATION_HINT));
      else if (!(t.within > 0 && t.within <= MAX_WITHIN))
        out.push(ctx.diag(testPath(i, 'within'), 'value', `\`within:\` must be more than 0 and at most ${MAX_WITHIN / 60}m`, DURATION_HINT));
    }
    if (!ctx.has(testPath(i, t.kind))) return; // no kind: testKindGiven reports it
    if (t.kind === 'throughput') {
      const bounds = { min: t.min, max: t.max };
      if (bounds.min === undefined && bounds.max === undefined)
        out.push(ctx.diag(testPath(i, 'throughput'), 'key', 'a throughput check needs `min:` or `max:`', 'e.g. `min: 8mbit`: the rate iperf3 must reach'));
      for (const [key, v] of Object.entries(bounds))
        if (v !== undefined && Number.isNaN(v))
          out.push(ctx.diag(testPath(i, 'throughput', key), 'value', `${key}: is not a rate`, "write a rate in bit/s with tc's units: 800kbit, 8mbit, 1gbit"));
      if (t.min !== undefined && t.max !== undefined && t.min > t.max)
        out.push(
          ctx.diag(testPath(i, 'throughput', 'min'), 'value', `min ${formatRate(t.min)} is above max ${formatRate(t.max)}`, 'swap them: no rate can pass'),
        );
    }
    if (t.kind === 'latency') {
      const bounds: [string, number | undefined][] = [
        ['min', t.min],
        ['avg_min', t.avgMin],
        ['avg_max', t.avgMax],
        ['max', t.max],
      ];
      if (bounds.every(([, v]) => v === undefined))
        out.push(ctx.diag(testPath(i, 'latency'), 'key', 'a latency check needs a bound', 'give one of min, avg_min, avg_max, max, e.g. `avg_max: 30ms`'));
      for (const [key, v] of bounds)
        if (v !== undefined && Number.isNaN(v))
          out.push(ctx.diag(testPath(i, 'latency', key), 'value', `${key}: is not a duration`, 'write e.g. 20ms or 0.1s (a bare number is milliseconds)'));
      const lower = [
        ['min', t.min],
        ['avg_min', t.avgMin],
      ] as const;
      const upper = [
        ['avg_max', t.avgMax],
        ['max', t.max],
      ] as const;
      for (const [lk, lv] of lower)
        for (const [uk, uv] of upper)
          if (lv !== undefined && uv !== undefined && lv > uv)
            out.push(
              ctx.diag(
                testPath(i, 'latency', lk),
                'value',
                `${lk} ${formatSeconds(lv)} is above ${uk} ${formatSeconds(uv)}`,
                'no round trip can pass both; check the two bounds',
              ),
            );
    }
  });
  return out;
};
