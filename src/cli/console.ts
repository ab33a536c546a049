// `umlab console`: the terminal talks to a VM's console through the supervisor.
import { LabRuntimeError, NotFoundError } from '../errors.ts';
import { LabClient } from '../client/lab-client.ts';

/** Ctrl-], as in telnet. */
export const DETACH_KEY = 0x1d;
export const DETACH_KEY_NAME = 'Ctrl-] (then the VM keeps running)';

export async function attachConsole(socketPath: string, vm: string): Promise<void> {
  const { sock, answer, rest: first } = await new LabClient(socketPath).console(vm);
  if (!answer.ok) {
    sock.destroy();
    throw answer.code === 'not-found'
      ? new NotFoundError(answer.error ?? `no VM ${vm}`)
      : new LabRuntimeError(answer.error ?? 'the supervisor refused the console');
  }
  process.stderr.write(`connected to the console of ${vm}; detach with ${DETACH_KEY_NAME}\r\n`);
  process.stdout.write(first);
  sock.pipe(process.stdout, { end: false });
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  await new Promise<void>((resolve) => {
    const done = () => {
      if (stdin.isTTY) stdin.setRawMode(false);
      // destroy, not pause: a paused pipe would keep the process alive.
      stdin.destroy();
      sock.destroy();
      resolve();
    };
    stdin.on('data', (chunk: Buffer) => {
      const detach = chunk.indexOf(DETACH_KEY);
      if (detach >= 0) {
        if (detach > 0) sock.write(chunk.subarray(0, detach));
        process.stderr.write('\r\ndetached\r\n');
        return done();
      }
      sock.write(chunk);
    });
    stdin.on('end', done);
    sock.on('close', done);
  });
}
