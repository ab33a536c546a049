// The shapes the Kathará/Netkit reader passes between its pure parts and its I/O shell:
// a lab directory's contents as plain data, positions, and problems with their severity.

/** A place in one of the lab directory's files (1-based). */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

export interface KatharaProblem {
  at: Pos;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
}

/** A file of a device's tree (`r1/etc/frr/frr.conf`): text, or a note that it is not text. */
export interface TreeFile {
  /** Path inside the device, e.g. /etc/frr/frr.conf. */
  path: string;
  /** utf8 content; absent for a binary file (left out, with a warning). */
  text?: string;
  executable: boolean;
}

/** What the I/O shell reads from a lab directory; the reader turns it into a lab. */
export interface LabDirContents {
  /** The lab directory (absolute). */
  dir: string;
  /** Path of lab.conf as the user named it (for messages), or of where it would be. */
  labConfFile: string;
  labConf?: string;
  labDep?: string;
  /** lab.ext (Kathará's external collision domains). */
  labExt?: string;
  /** Subdirectories that may be devices (not shared, _test or hidden), sorted. */
  deviceDirs: string[];
  /** Each device directory's files. */
  trees: Record<string, TreeFile[]>;
  /** `<name>.startup` / `<name>.shutdown` files by name (shared.startup as "shared"). */
  startup: Record<string, string>;
  shutdown: Record<string, string>;
  hasShared: boolean;
  /** umlab.yaml or tests.yaml next to lab.conf. */
  sidecar?: { file: string; text: string };
}

/** How the reader is told where things are and how strict to be. */
export interface ReadOptions {
  /** Directory of cached images (image-cache.ts). */
  imageCache: string;
  /** Unsupported images and unknown options become errors. */
  strict: boolean;
  /** Expresses a path under the lab directory as the lab file will hold it ("." for the directory itself). */
  labPath: (relative: string) => string;
}
