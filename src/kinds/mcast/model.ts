// The mcast kind's model: what an `mcast:` entry becomes (its defaults are filled in by fromRaw, per segment).
export interface McastSegment {
  kind: 'mcast';
  name: string;
  group: string;
  port: number;
  ttl: number;
}
