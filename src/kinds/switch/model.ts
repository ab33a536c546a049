// The switch kind's model: what a `switches:` entry becomes, and its default (also the engines' fallback).
/** Seconds a switch keeps a learned MAC, as a Linux bridge does by default. */
export const DEFAULT_AGEING = 300;

export interface SwitchSegment {
  kind: 'switch';
  name: string;
  /** Seconds a learned MAC is kept; 0 keeps it forever. */
  ageing: number;
}
