import { existsSync } from 'node:fs';
import path from 'node:path';

/** The directory with package.json above this file, from sources and from dist/ alike. */
export function projectRoot(): string {
  let dir = __dirname;
  while (dir !== path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/**
 * The workspace page's script and styles. The build compiles TypeScript only, so they are
 * served from the sources whether the sandbox runs from them or from dist/.
 */
export function workspaceAssetsDir(): string {
  return path.join(projectRoot(), 'sandbox', 'workspace', 'public');
}
