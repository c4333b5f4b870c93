import { deprecationNotes } from '../config/deprecations.ts';
import { ConfigError, formatProblem, loadConfigFile } from '../config/load.ts';

/** Prints every problem with its path in the file, exit code 1 when there is any; deprecated settings are warnings. */
export async function checkConfig(file: string): Promise<number> {
  try {
    const config = await loadConfigFile(file);
    const deployments = config.models.reduce((n, m) => n + m.deployments.length, 0);
    process.stdout.write(`${file}: OK (${config.models.length} model(s), ${deployments} deployment(s))\n`);
    for (const note of deprecationNotes(config)) process.stderr.write(`warning: ${note}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${file}: ${err.problems.length} problem(s)\n`);
    for (const p of err.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
    return 1;
  }
}
