// The layered drawing of a lab with tiers (a data-center fabric): ELK's layered algorithm
// (elkjs, in the page's thread) orders each tier to cross as few lines as it can and places
// the devices; each tier is then put on its own horizontal band, top to bottom.
/* global ELK */

/** Model pixels from one band to the next: room for a line's two end labels between them. */
export const BAND_GAP = 190;
/** Extra width a device gets in its tier, for the end labels of its lines. */
const ROOM = 4;

/**
 * Positions every node of `cy` by its tier (0 = top band).
 * @param {any} cy the cytoscape instance
 * @param {Record<string, number>} tiers node id -> tier
 * @returns {Promise<void>}
 */
export async function layOutLayered(cy, tiers) {
  const tierOf = (id) => tiers[id] ?? 0;
  const graph = {
    id: 'lab',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.partitioning.activate': 'true',
      'elk.spacing.nodeNode': '16',
      // The lab file's order where it costs no crossing: tof-1 left of tof-2.
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.spacing.nodeNodeBetweenLayers': String(BAND_GAP),
      'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.nodePlacement.bk.fixedAlignment': 'BALANCED',
      'elk.randomSeed': '1',
    },
    children: cy.nodes().map((n) => ({
      id: n.id(),
      width: n.width() + ROOM,
      height: n.height(),
      layoutOptions: { 'elk.partitioning.partition': String(tierOf(n.id())) },
    })),
    // Every line from the upper tier down, so ELK layers them as the tiers say.
    edges: cy.edges().map((e) => {
      const [a, b] = [e.source().id(), e.target().id()];
      const down = tierOf(a) <= tierOf(b);
      return { id: e.id(), sources: [down ? a : b], targets: [down ? b : a] };
    }),
  };
  const placed = await new ELK().layout(graph);
  const x = new Map(placed.children.map((c) => [c.id, c.x + c.width / 2]));
  cy.nodes().positions((n) => ({ x: x.get(n.id()) ?? 0, y: tierOf(n.id()) * BAND_GAP }));
}
