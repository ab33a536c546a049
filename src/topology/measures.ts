// Durations ("30s", "250ms") and bit rates ("8mbit") as lab files write them for readiness
// and measuring checks: parsed here once, pure, so rules, compile and checks agree.

/** Seconds from "500us", "250ms", "30s", "2m", "1h" or a bare number (in `unit`); undefined when it is not one. */
export function parseDuration(value: string | number, unit: 's' | 'ms' = 's'): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? (unit === 'ms' ? value / 1000 : value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? unit;
  return n * { us: 1e-6, ms: 0.001, s: 1, m: 60, h: 3600 }[suffix as 'us' | 'ms' | 's' | 'm' | 'h'];
}

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** Bits per second from "8mbit", "500kbit", "1.5gbit", "9600bit" (tc's units, powers of 1000). */
export function parseRate(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?bit)\s*$/i.exec(value);
  return m ? Number(m[1]) * RATE_UNITS[m[2].toLowerCase()] : undefined;
}

/** 9_420_000 -> "9.42 Mbit/s". */
export function formatRate(bitsPerSecond: number): string {
  const [unit, scale] = bitsPerSecond >= 1e9 ? ['Gbit/s', 1e9] : bitsPerSecond >= 1e6 ? ['Mbit/s', 1e6] : bitsPerSecond >= 1e3 ? ['kbit/s', 1e3] : ['bit/s', 1];
  return `${Number((bitsPerSecond / scale).toPrecision(3))} ${unit}`;
}

/** 0.0123 (s) -> "12.3 ms"; 2.5 -> "2.5 s". */
export function formatSeconds(seconds: number): string {
  return seconds < 1 ? `${Number((seconds * 1000).toPrecision(4))} ms` : `${Number(seconds.toPrecision(4))} s`;
}
