// A browser terminal on a VM's console: joins a WebSocket to the supervisor's `console`
// op (the same console `umlab console` attaches to; both may be attached at once).
// Bytes both ways as binary messages; text messages are JSON controls ({type:'resize'}).
import type { WebSocket } from 'ws';
import { LabClient } from '../client/lab-client.ts';

/** Close codes the page understands: the VM is gone for now (retry), or never will be. */
export const CLOSE_VM_GONE = 4000;
export const CLOSE_REFUSED = 4004;

export interface ConsoleResize {
  type: 'resize';
  cols: number;
  rows: number;
}

/** `stty` for the console's tty inside the VM, or null when the numbers are not sane. */
export function resizeCommand(msg: ConsoleResize): string | null {
  const { cols, rows } = msg;
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 2 || rows < 2 || cols > 1000 || rows > 1000) return null;
  return `stty -F /dev/tty0 rows ${rows} cols ${cols}`;
}

/** `readOnly`: the page sees the console and nothing it sends reaches the VM (a teacher watching). */
export async function bridgeConsole(ws: WebSocket, controlSocket: string, vm: string, opts: { readOnly?: boolean } = {}): Promise<void> {
  const client = new LabClient(controlSocket);
  let first;
  try {
    first = await client.console(vm);
  } catch (err) {
    return ws.close(CLOSE_VM_GONE, short((err as Error).message));
  }
  const sock = first.sock;
  sock.on('error', () => {});
  if (!first.answer.ok) {
    sock.destroy();
    return ws.close(first.answer.code === 'not-found' ? CLOSE_REFUSED : CLOSE_VM_GONE, short(first.answer.error ?? 'refused'));
  }
  if (ws.readyState !== ws.OPEN) return void sock.destroy();
  ws.send(JSON.stringify({ type: 'attached', vm, readOnly: opts.readOnly === true }));
  if (first.rest.length) ws.send(first.rest);
  sock.on('data', (chunk: Buffer) => ws.send(chunk));
  sock.on('close', () => ws.close(CLOSE_VM_GONE, 'the VM stopped'));
  let resizing: NodeJS.Timeout | undefined;
  ws.on('message', (data, isBinary) => {
    if (opts.readOnly) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) return void sock.write(bytes);
    let msg: ConsoleResize;
    try {
      msg = JSON.parse(bytes.toString());
    } catch {
      return;
    }
    const command = msg?.type === 'resize' ? resizeCommand(msg) : null;
    if (!command) return;
    // The console is a plain line, not a pty: the size is set on the VM's tty through the agent.
    clearTimeout(resizing);
    resizing = setTimeout(() => void client.execReply(vm, command, 5000).catch(() => {}), 150);
  });
  ws.on('close', () => {
    clearTimeout(resizing);
    sock.destroy();
  });
}

/** WebSocket close reasons are at most 123 bytes. */
function short(text: string): string {
  const b = Buffer.from(text);
  return b.length <= 120 ? text : b.subarray(0, 120).toString();
}
