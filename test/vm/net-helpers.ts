// Host-side network helpers shared by the unit, VM, fault and security tests: a free port,
// and the slirp gateway's test setup (an HTTP server on the host's loopback and a lab file
// whose gateway forwards a free host port to a VM).
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';

export interface FreePortOptions {
  /** 'udp' for a UDP port (the ucast engine's sockets); TCP otherwise. */
  protocol?: 'tcp' | 'udp';
  /** Scan upwards from this port (TCP only) instead of taking the kernel's pick: for ports
   *  written into lab files, kept out of the ephemeral range outgoing connections draw from. */
  from?: number;
  /** Ports the scan skips (one already chosen but not yet bound). */
  except?: number[];
}

/** A port on 127.0.0.1 that nothing is bound to right now. */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  if (options.protocol === 'udp') return freeUdpPort();
  if (options.from === undefined) return freeTcpPort(0);
  for (let port = options.from; port < options.from + 200; port++) {
    if (options.except?.includes(port)) continue;
    const free = await freeTcpPort(port).then(
      () => true,
      () => false,
    );
    if (free) return port;
  }
  throw new Error(`no free port from ${options.from}`);
}

/** Binds `port` (0: any) on 127.0.0.1 exclusively, closes it again and returns the port. */
function freeTcpPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const bound = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(bound));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const port = probe.address().port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface SlirpHost {
  /** The HTTP server on the host's 127.0.0.1 the VM reaches through the gateway address. */
  server: Server;
  hostPort: number;
  /** The host port the gateway forwards to `guestPort` of the VM `web`. */
  forwardedPort: number;
  labFile: string;
  close(): void;
}

/** An HTTP server on 127.0.0.1 answering with `answer(request)`, and a lab file in `home`
 *  named `<labName>.yaml`: one VM `web` behind the slirp gateway nat0 (10.0.2.0/24, DHCP), a
 *  free host port forwarded to `guestPort` of the VM. */
export async function startSlirpHost(home: string, labName: string, guestPort: number, answer: (req: IncomingMessage) => string): Promise<SlirpHost> {
  const server = createHttpServer((req, res) => res.end(answer(req)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hostPort = (server.address() as AddressInfo).port;
  const forwardedPort = await freePort();
  const labFile = join(home, `${labName}.yaml`);
  writeFileSync(
    labFile,
    `name: ${labName}
gateways:
  nat0: { type: slirp, network: 10.0.2.0/24, dhcp: true, forward: [ "tcp:${forwardedPort}:web:${guestPort}" ] }
vms:
  web: { interfaces: { eth0: { connect: nat0, dhcp: true } } }
`,
  );
  return { server, hostPort, forwardedPort, labFile, close: () => server.close() };
}
