// Semantic rules: what the JSON schema cannot say. Each rule is a small function from the
// schema-valid lab to its diagnostics, in a file by topic; parseLab runs them all and reports
// every problem at once. Positions follow the convention in load.ts (value node when a value
// is wrong, key node when the entry as a whole is wrong).
import { macFirstByteEven, macUnique, uniqueAddressPerSegment, validCidrs } from './addresses.ts';
import { testKindGiven, testOrder, testReferences } from './checks.ts';
import { filePaths } from './files.ts';
import { kernelArgs } from './kernel.ts';
import { checkBounds, readyConditions } from './readiness.ts';
import { consolePorts, serialLines } from './lines.ts';
import { startAfterAcyclic, startAfterNames } from './start-order.ts';
import { linkConditionsValid, linkSettingsSupported, vlanPorts } from './link-conditions.ts';
import { connectTargetsExist, interfaceConnected, interfaceUsedOnce, p2pPeerPointsBack } from './links.ts';
import { interfaceNames, uniqueNames } from './names.ts';
import { diskSizes, imagePaths, memoryMaximum, memoryMinimum } from './resources.ts';
import { rwShareTargets, shareMountPoints, sharePaths } from './shares.ts';
import type { Rule } from './context.ts';

export type { Rule, RuleContext } from './context.ts';
// Every rule by name, for tests that check one rule alone.
export * from './addresses.ts';
export * from './checks.ts';
export * from './files.ts';
export * from './kernel.ts';
export * from './lines.ts';
export * from './links.ts';
export * from './link-conditions.ts';
export * from './start-order.ts';
export * from './names.ts';
export * from './readiness.ts';
export * from './resources.ts';
export * from './shares.ts';
// Helpers the rules' messages rest on, where callers of the rules have always found them.
export { memoryMiB } from '../model.ts';
export { didYouMean } from '../../util/text.ts';

/** Every shared rule, in the order the README's format reference documents them; the kinds' own rules join them in load.ts (LAB_RULES). */
export const RULES: Rule[] = [
  uniqueNames,
  interfaceNames,
  connectTargetsExist,
  p2pPeerPointsBack,
  interfaceUsedOnce,
  interfaceConnected,
  linkConditionsValid,
  linkSettingsSupported,
  vlanPorts,
  validCidrs,
  uniqueAddressPerSegment,
  macFirstByteEven,
  macUnique,
  memoryMinimum,
  memoryMaximum,
  diskSizes,
  imagePaths,
  filePaths,
  kernelArgs,
  consolePorts,
  serialLines,
  shareMountPoints,
  sharePaths,
  rwShareTargets,
  startAfterNames,
  startAfterAcyclic,
  readyConditions,
  testKindGiven,
  testOrder,
  testReferences,
  checkBounds,
];
