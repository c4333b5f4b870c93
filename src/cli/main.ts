// The `switchyard` command. Every error it prints is one line on stderr that says what to fix,
// with a non-zero exit code: commander's own usage errors, a bad flag value, a bad environment
// variable, a config problem (a config with several lists them, one per line).

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatConfigError, parsePort, type ServeFlags } from './serve-config.ts';
import { registerSimCommand } from './sim-command.ts';
import { registerKeysCommand } from './keys-command.ts';
import { registerSpendCommand } from './spend-command.ts';
import { registerBatchCommand } from './batch-command.ts';
import { registerDlqCommand } from './dlq-command.ts';
import { ConfigError } from '../config/load.ts';
import { LOG_LEVELS } from '../config/schema.ts';

// package.json sits two levels up from both src/cli/main.ts and dist/cli/main.js.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function portArg(value: string): number {
  const port = parsePort(value);
  if (port === undefined) throw new InvalidArgumentError('expected a port number 0-65535 (0 picks a free one)');
  return port;
}

const program = new Command();
program
  .name('switchyard')
  .description('Self-hostable AI inference gateway and control plane')
  .version(version)
  // Subcommands inherit this: the usage error on one line, then where the usage is.
  .configureOutput({ outputError: (text, write) => write(`${text.trimEnd()} (see --help)\n`) });

program
  .command('serve', { isDefault: true })
  .description('run the gateway (embedded default: SQLite and two simulated replicas)')
  .option('-c, --config <file>', 'config file (default: $SWITCHYARD_CONFIG, else ./switchyard.yaml, else the built-in default)')
  .option('-p, --port <port>', 'port to listen on (default: $PORT or 8080)', portArg)
  .option('--host <host>', 'address to bind (default: $HOST or 127.0.0.1)')
  .option('--data-dir <dir>', 'data directory (default: $SWITCHYARD_DATA_DIR or ./.switchyard)')
  .addOption(new Option('--log-level <level>', 'log level (default: $LOG_LEVEL or the config\'s, info)').choices(LOG_LEVELS))
  // `serve` is the default command, so an unknown command name arrives here as an operand.
  .allowExcessArguments()
  .action(async (flags: ServeFlags, command: Command) => {
    if (command.args.length > 0) command.error(`error: unknown command '${command.args[0]}'`);
    try {
      // Loaded here, not above: the other commands start without loading the whole gateway.
      const { serve } = await import('./serve.ts');
      await serve(flags);
    } catch (err) {
      process.stderr.write(err instanceof ConfigError ? formatConfigError(err) : `switchyard: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });

program
  .command('check-config')
  .description('validate a config exactly as serve does (file, environment overrides) and report every problem with its path')
  .argument('[file]', 'the YAML config file (default: as serve: $SWITCHYARD_CONFIG, else ./switchyard.yaml, else the built-in default)')
  .option('--data-dir <dir>', 'data directory whose store budgets are checked against (default: as serve)')
  .action(async (file: string | undefined, flags: { dataDir?: string }) => {
    const { checkConfig } = await import('./check-config.ts');
    process.exitCode = await checkConfig(file, flags);
  });

registerSimCommand(program);
registerKeysCommand(program);
registerSpendCommand(program);
registerBatchCommand(program);
registerDlqCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Nothing above lets an error escape; should one, it still gets one line, not a stack trace.
  process.stderr.write(`switchyard: ${String((err as Error).message ?? err).split('\n')[0]}\n`);
  process.exit(1);
}
