/** Finding a command the way a shell would, by walking PATH. */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/** The executable's full path, or undefined; `extraDirs` are searched after PATH. */
export async function findOnPath(
  command: string,
  options: { env?: NodeJS.ProcessEnv; extraDirs?: readonly string[] } = {},
): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...(options.extraDirs ?? [])];
  for (const dir of dirs) {
    const candidate = path.join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
