// Jumping to a stage: the files of every stage up to it, in order, written into the running
// lab's devices over their agent (one exec per stage and device), each stage's <device>.startup
// run after its files. The commands are built here (pure); applyStages sends them.
import { LabClient } from '../client/lab-client.ts';
import { LabRuntimeError, UsageError } from '../errors.ts';
import { runFiles } from '../runtime/paths.ts';
import { shellQuote } from '../topology/init-script.ts';
import type { Stage, StageFile } from './stages.ts';

/** What a jump did, per stage and device: the files written, and the startup's exit and output. */
export interface AppliedStage {
  stage: string;
  device: string;
  files: string[];
  startup: { exitCode: number; output: string } | null;
}

export interface JumpAnswer {
  assignment: string;
  stage: string;
  /** The stages applied, in order: every stage up to and including `stage`. */
  stages: string[];
  applied: AppliedStage[];
  /** False when a startup script exited non-zero (the files were written all the same). */
  ok: boolean;
}

const APPLY_TIMEOUT_MS = 60_000;
const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64');

/** The stages a jump to `id` applies: the first up to it; null when there is no such stage. */
export function stagesUpTo(stages: Stage[], id: string): Stage[] | null {
  const at = stages.findIndex((s) => s.id === id);
  return at < 0 ? null : stages.slice(0, at + 1);
}

/** A shell command writing `files` into place: each whole (written aside, then renamed). */
export function writeFilesCommand(files: StageFile[]): string {
  const lines = ['set -e'];
  for (const f of files) {
    const path = shellQuote(f.path);
    const aside = shellQuote(`${f.path}.umlab-stage`);
    lines.push(`mkdir -p "$(dirname ${path})"`, `printf %s ${b64(f.data)} | base64 -d > ${aside}`, `mv -f ${aside} ${path}`);
  }
  return lines.join('\n') + '\n';
}

/** A shell command running a startup script, as Kathará runs a device's .startup: with sh, from /. */
export function startupCommand(script: string): string {
  const file = '/tmp/umlab-stage.startup';
  return `printf %s ${b64(script)} | base64 -d > ${file} && cd / && sh ${file} 2>&1; rc=$?; rm -f ${file}; exit $rc\n`;
}

/** Applies `stages` in order to the lab running at `runDir`. */
export async function applyStages(runDir: string, stages: Stage[]): Promise<AppliedStage[]> {
  const client = new LabClient(runFiles(runDir).control);
  const applied: AppliedStage[] = [];
  for (const stage of stages) {
    const devices = [...new Set([...stage.files.map((f) => f.device), ...stage.startups.map((s) => s.device)])].sort();
    for (const device of devices) {
      const files = stage.files.filter((f) => f.device === device);
      if (files.length > 0) {
        const reply = await client.execReply(device, writeFilesCommand(files), APPLY_TIMEOUT_MS);
        if (!reply.ok) throw new UsageError(`cannot reach ${device}: ${reply.error}`, { hint: 'is the lab running? try again' });
        if (reply.exitCode !== 0)
          throw new LabRuntimeError(
            `stage ${stage.id}: writing the files of ${device} failed (exit ${reply.exitCode}): ${reply.stderr.toString('utf8').trim()}`,
          );
      }
      const script = stage.startups.find((s) => s.device === device)?.script;
      let startup: AppliedStage['startup'] = null;
      if (script !== undefined) {
        const reply = await client.execReply(device, startupCommand(script), APPLY_TIMEOUT_MS);
        if (!reply.ok) throw new UsageError(`cannot reach ${device}: ${reply.error}`, { hint: 'is the lab running? try again' });
        startup = { exitCode: reply.exitCode, output: reply.stdout.toString('utf8').slice(-4000) };
      }
      applied.push({ stage: stage.id, device, files: files.map((f) => f.path), startup });
    }
  }
  return applied;
}
