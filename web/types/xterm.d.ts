// /vendor/xterm.mjs, which the server serves from @xterm/xterm (src/web/server.ts).
export { Terminal } from '@xterm/xterm';
