// Rules on mcast segments: the group is an IPv4 multicast address, and two segments never share group and port.
import type { Diagnostic } from '../../errors.ts';
import { parseIPv4 } from '../../topology/address.ts';
import type { NodePart } from '../../topology/lab-path.ts';
import type { Rule } from '../../topology/rules/context.ts';
import type { McastSegment } from './model.ts';

/** An mcast segment's group is an IPv4 multicast address, and two segments never share group and port. */
export const mcastGroups: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const used = new Map<string, string>();
  for (const s of ctx.lab.segments.filter((s): s is McastSegment => s.kind === 'mcast')) {
    const groupPath = ctx.has(ctx.segmentPath(s, 'group')) ? ctx.segmentPath(s, 'group') : ctx.segmentPath(s);
    const part: NodePart = groupPath.length === 3 ? 'value' : 'key';
    const bytes = parseIPv4(s.group);
    if (!bytes || bytes[0] < 224 || bytes[0] > 239) {
      out.push(
        ctx.diag(
          groupPath,
          part,
          `"${s.group}" is not an IPv4 multicast group`,
          'use an address in 224.0.0.0/4; 239.192.0.0/14 is meant for local use, e.g. 239.192.0.1',
        ),
      );
      continue;
    }
    const key = `${s.group}:${s.port}`;
    const earlier = used.get(key);
    if (earlier)
      out.push(
        ctx.diag(groupPath, part, `${key} is already the group of ${earlier}: the two segments would be one`, 'give each mcast segment its own group or port'),
      );
    else used.set(key, s.name);
  }
  return out;
};
