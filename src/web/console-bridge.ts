// A browser terminal on a VM's console: joins a WebSocket to the supervisor's `console`
// op (the same console `umlab console` attaches to; both may be attached at once).
// Bytes both ways as binary messages; text messages are JSON controls ({type:'resize'}).
import type { Socket } from 'node:net';
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

/** Reads the supervisor's one-line answer; the bytes after it are already console output. */
function firstLine(sock: Socket): Promise<{ answer: { ok: boolean; error?: string; code?: string }; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      acc = Buffer.concat([acc, chunk]);
      const nl = acc.indexOf(0x0a);
      if (nl < 0) return;
      sock.off('data', onData);
      sock.off('close', onClose);
      try {
        resolve({ answer: JSON.parse(acc.subarray(0, nl).toString()), rest: acc.subarray(nl + 1) });
      } catch (err) {
        reject(err);
      }
    };
    const onClose = () => reject(new Error('the supervisor closed the console'));
    sock.on('data', onData);
    sock.once('close', onClose);
  });
}

export async function bridgeConsole(ws: WebSocket, controlSocket: string, vm: string): Promise<void> {
  const client = new LabClient(controlSocket);
  let sock: Socket;
  try {
    sock = await client.connect();
  } catch (err) {
    return ws.close(CLOSE_VM_GONE, short(`lab not reachable: ${(err as Error).message}`));
  }
  sock.on('error', () => {});
  sock.write(JSON.stringify({ op: 'console', vm }) + '\n');
  let first;
  try {
    first = await firstLine(sock);
  } catch (err) {
    sock.destroy();
    return ws.close(CLOSE_VM_GONE, short((err as Error).message));
  }
  if (!first.answer.ok) {
    sock.destroy();
    return ws.close(first.answer.code === 'not-found' ? CLOSE_REFUSED : CLOSE_VM_GONE, short(first.answer.error ?? 'refused'));
  }
  if (ws.readyState !== ws.OPEN) return void sock.destroy();
  ws.send(JSON.stringify({ type: 'attached', vm }));
  if (first.rest.length) ws.send(first.rest);
  sock.on('data', (chunk: Buffer) => ws.send(chunk));
  sock.on('close', () => ws.close(CLOSE_VM_GONE, 'the VM stopped'));
  let resizing: NodeJS.Timeout | undefined;
  ws.on('message', (data, isBinary) => {
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
