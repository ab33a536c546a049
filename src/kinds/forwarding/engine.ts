// The engine of switches, hubs and wires: a Linux bridge when the plan names one, else umlab's userspace engine.
import type { EngineStarter } from '../types.ts';
import { startBridgeSegment } from './bridge.ts';
import { isBridged } from './plan.ts';
import { startUcastSegment } from './ucast-engine.ts';

export const start: EngineStarter = (plan, options) => (isBridged(plan) ? startBridgeSegment(plan, options) : startUcastSegment(plan, options));
