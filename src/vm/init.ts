// The VM's init script and file layer, as the runtime side imports them; the pure
// generator lives in src/topology/init-script.ts so that compile() puts the init into the plan.
export * from '../topology/init-script.ts';
