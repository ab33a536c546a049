// 802.1Q on umlab's switch engine: which VLAN a frame from a port belongs to, and the frame as
// a port sends it (tagged on a trunk, untagged on an access port or a trunk's native VLAN).
import type { PortVlans } from '../../topology/model.ts';

export const ETHERTYPE_VLAN = 0x8100;
/** Ports of a VLAN-aware switch that say nothing are untagged in VLAN 1, as on a Linux bridge. */
export const DEFAULT_VLAN = 1;
const DEFAULT_PORT: PortVlans = { untagged: DEFAULT_VLAN, tagged: [] };

export const portVlans = (vlans: PortVlans | undefined): PortVlans => vlans ?? DEFAULT_PORT;

/** "access 10", "trunk 10,20 native 30". */
export const describeVlans = (v: PortVlans) =>
  v.tagged.length === 0 ? `access ${v.untagged}` : `trunk ${v.tagged.join(',')}${v.untagged !== undefined ? ` native ${v.untagged}` : ''}`;

/** The VLAN of a frame arriving from a port, or null when the port does not carry it (dropped). */
export function ingressVlan(frame: Buffer, port: PortVlans): number | null {
  if (frame.length >= 18 && frame.readUInt16BE(12) === ETHERTYPE_VLAN) {
    const vid = frame.readUInt16BE(14) & 0x0fff;
    // A priority-tagged frame (VID 0) belongs to the port's untagged VLAN.
    if (vid === 0) return port.untagged ?? null;
    return port.tagged.includes(vid) ? vid : null;
  }
  return port.untagged ?? null;
}

/** Whether a port sends frames of this VLAN at all. */
export const carries = (port: PortVlans, vid: number) => port.untagged === vid || port.tagged.includes(vid);

/** The frame without its 802.1Q tag (if it has one). */
export function untag(frame: Buffer): Buffer {
  if (frame.length < 18 || frame.readUInt16BE(12) !== ETHERTYPE_VLAN) return frame;
  return Buffer.concat([frame.subarray(0, 12), frame.subarray(16)]);
}

/** The frame with an 802.1Q tag for `vid` (replacing one it has), priority 0. */
export function tag(frame: Buffer, vid: number): Buffer {
  const bare = untag(frame);
  const out = Buffer.allocUnsafe(bare.length + 4);
  bare.copy(out, 0, 0, 12);
  out.writeUInt16BE(ETHERTYPE_VLAN, 12);
  out.writeUInt16BE(vid & 0x0fff, 14);
  bare.copy(out, 16, 12);
  return out;
}

/** The frame as `port` sends it in VLAN `vid`. */
export const egressFrame = (frame: Buffer, port: PortVlans, vid: number): Buffer => (port.untagged === vid ? untag(frame) : tag(frame, vid));
