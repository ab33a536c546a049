// What the page's classic <script>s (web/index.html) and its modules put on window, for
// `npm run typecheck:web` (web/tsconfig.json checks web/*.js with these).
import type cytoscapeModule from 'cytoscape';
import type ElkConstructor from 'elkjs/lib/elk.bundled.js';

declare global {
  const cytoscape: typeof cytoscapeModule;
  const cytoscapeFcose: cytoscapeModule.Ext;
  const ELK: typeof ElkConstructor;
  interface Window {
    layoutBase?: { RandomSeed?: { seed: number } };
    /** For the browser tests and curious users in the console. */
    cy: cytoscapeModule.Core;
    umlabGraph: Record<string, (...args: never[]) => unknown>;
    umlabTerminals: Map<string, unknown>;
    umlabTerminalText: (vm: string) => string;
  }
}
