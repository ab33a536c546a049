// Kathará/Netkit image names -> the umlab image profile that has their daemons, or why a
// device with that image cannot run. One table, so docs and messages say the same. Pure.
import { cachedImageName } from '../runtime/image-profiles.ts';

export type ImageChoice = { profile: string; note?: string } | { unsupported: string; hint: string };

/** Images umlab runs, by name without tag or registry; each maps to a profile of image-profiles.ts. */
export const KATHARA_IMAGES: Readonly<Record<string, { profile: string; note?: string }>> = {
  'kathara/base': { profile: 'kathara' },
  'kathara/frr': { profile: 'kathara' },
  'kathara/quagga': { profile: 'kathara', note: 'Quagga is gone from Debian: runs on FRR, its fork (/etc/quagga is translated at start)' },
  'kathara/bind': { profile: 'kathara' },
  'kathara/bind9': { profile: 'kathara' },
  'kathara/apache': { profile: 'kathara' },
  'kathara/apache2': { profile: 'kathara' },
  'kathara/dhcp': { profile: 'kathara' },
  'kathara/scion': { profile: 'kathara' },
  'kathara/netkit_base': { profile: 'kathara' },
  'netkit/base': { profile: 'kathara' },
  debian: { profile: 'kathara' },
  'frrouting/frr': { profile: 'kathara' },
  'quay.io/frrouting/frr': { profile: 'kathara' },
};

/** Images that need what UML cannot give (or umlab does otherwise): the device is left out. */
const UNSUPPORTED: readonly [RegExp, string, string][] = [
  [/p4|bmv2/, 'P4 software switches (bmv2) are not supported', 'leave the device out, or replace it with a router or a switch segment'],
  [
    /(^|\/)(sdn|ovs|openvswitch|ryu|pox|onos|opendaylight)/,
    'Open vSwitch and SDN controllers are not supported',
    'use a collision domain (a umlab switch) instead of the OVS device',
  ],
  [
    /wireshark/,
    'Wireshark in a container is not needed',
    'every link is captured already: `umlab web` shows the packets live, `umlab capture show LINK` decodes them, and the pcap files open in Wireshark',
  ],
];

/** The name without registry port, tag or digest: kathara/frr:latest -> kathara/frr. */
export function imageBaseName(image: string): string {
  return image
    .trim()
    .toLowerCase()
    .replace(/@.*$/, '')
    .replace(/:[^/]*$/, '');
}

export function chooseImage(image: string): ImageChoice {
  const name = imageBaseName(image);
  const known = KATHARA_IMAGES[name];
  if (known) return known;
  for (const [re, why, hint] of UNSUPPORTED) if (re.test(name)) return { unsupported: why, hint };
  return {
    unsupported: `unknown image "${image}"`,
    hint: `umlab runs these Kathará images: ${Object.keys(KATHARA_IMAGES).join(', ')}; for anything else, build an image with \`umlab image build\` and name it in umlab.yaml (vms: {DEVICE: {image: PATH}})`,
  };
}

/** Where a profile's cached image lives in the cache directory. */
export const cachedImagePath = (cacheDir: string, profile: string) => `${cacheDir.replace(/\/+$/, '')}/${cachedImageName(profile)}`;

/** The image every device gets when lab.conf names none (Kathará's default, kathara/base). */
export const DEFAULT_IMAGE = 'kathara/base';
