// Stand-ins the class's unit tests share: a placement that starts nothing, and a class as
// loadClassFile would give it, built from no file (assignments a1, a2, ... on /x/<id>.yaml).
import type { ClassLimits, Student } from '../../src/class/class-file.ts';
import type { LoadedClass } from '../../src/class/load-class.ts';
import type { PlacedLab, Placement } from '../../src/class/placement.ts';
import type { Stage } from '../../src/class/stages.ts';

/** Every lab is in `state` by its word; nothing starts, stops or runs anywhere. */
export function idlePlacement(state: PlacedLab['state'] = 'absent'): Placement {
  return {
    demandMiB: () => Promise.resolve(256),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    status: (name: string): PlacedLab => ({ name, state, vms: [] }),
    list: () => [],
    runDir: () => null,
    pause: () => {},
    resume: () => {},
    trafficBytes: () => 0,
  };
}

export const NO_LIMITS: ClassLimits = { runningLabsPerStudent: 1, memoryPerStudentMiB: null, memoryBudgetMiB: null, idleAfterMs: null, idleAction: 'pause' };

export function testClass(o: {
  roster: Student[];
  assignments?: string[];
  limits?: Partial<ClassLimits>;
  stages?: Map<string, Stage[]>;
  name?: string;
}): LoadedClass {
  const ids = o.assignments ?? ['a1'];
  return {
    file: '/x/CLASS.yaml',
    labPaths: new Map(ids.map((id) => [id, `/x/${id}.yaml`])),
    gradingSpecs: new Map(),
    stages: o.stages ?? new Map(),
    spec: {
      name: o.name ?? 'c1',
      description: '',
      roster: o.roster,
      rosterFile: null,
      assignments: ids.map((id) => ({ id, title: id.toUpperCase(), lab: `${id}.yaml`, grading: null, stages: [] })),
      limits: { ...NO_LIMITS, ...o.limits },
    },
  };
}
