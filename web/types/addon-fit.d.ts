// /vendor/addon-fit.mjs, which the server serves from @xterm/addon-fit (src/web/server.ts).
export { FitAddon } from '@xterm/addon-fit';
