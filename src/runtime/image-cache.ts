// The shared cache of profile images (kathara, ...): where it is, whether an image is built,
// and building one once even when several labs or test runs ask at the same time.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { MissingDependencyError } from '../errors.ts';
import { buildImage } from './image.ts';
import { cachedImageName, CACHE_SUITE } from './image-profiles.ts';

/** UMLAB_IMAGE_CACHE, else /var/cache/umlab/images for root and ~/.cache/umlab/images for others:
 *  outside UMLAB_HOME, so labs and test runs with their own homes share the images. */
export function imageCacheDir(env = process.env): string {
  if (env.UMLAB_IMAGE_CACHE) return env.UMLAB_IMAGE_CACHE;
  if (process.getuid?.() === 0) return '/var/cache/umlab/images';
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'umlab', 'images');
}

export const buildCommand = (path: string, profile: string) => `umlab image build ${path} --packages ${profile}`;

/** Throws with the one command to run when a profile's image is not built (and `build` is off); builds it otherwise. */
export async function ensureProfileImages(profiles: string[], opts: { build: boolean; log: (line: string) => void; cacheDir?: string }): Promise<void> {
  const dir = opts.cacheDir ?? imageCacheDir();
  for (const profile of profiles) {
    const path = join(dir, cachedImageName(profile));
    if (existsSync(path)) continue;
    if (!opts.build) {
      throw new MissingDependencyError(`the lab needs the image "${profile}" (${path}), which is not built yet`, {
        hint:
          process.getuid?.() === 0
            ? `build it once (root, debootstrap, about a minute), then every lab shares it:\n    ${buildCommand(path, profile)}\nor start the lab with --build-images`
            : `build it once (root, debootstrap, about a minute), then every lab shares it:\n    sudo ${buildCommand(path, profile)} && sudo chmod 644 ${path}`,
      });
    }
    await withLock(`${path}.lock`, async () => {
      if (existsSync(path)) return; // built by whoever held the lock
      opts.log(`building image ${profile} (${CACHE_SUITE}) into ${path}: once; later labs reuse it`);
      const started = Date.now();
      await buildImage({
        out: path,
        suite: CACHE_SUITE,
        packages: [profile],
        log: (l) => opts.log(`${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s  ${l}`),
      });
      // Readable by every user of the machine: it holds public Debian packages, and VMs only read it.
      chmodSync(path, 0o644);
      opts.log(`image ${profile} built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    });
  }
}

/** One builder at a time per image: a lock file holding the builder's pid; a dead builder's lock is taken over. */
async function withLock(lock: string, fn: () => Promise<void>): Promise<void> {
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      let alive = false;
      try {
        if (pid > 0) process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (!alive) rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
