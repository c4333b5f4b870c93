// The `switchyard` command.

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { serve, type ServeFlags } from './serve.ts';
import { checkConfig } from './check-config.ts';
import { registerSimCommand } from './sim-command.ts';
import { registerKeysCommand } from './keys-command.ts';
import { registerSpendCommand } from './spend-command.ts';
import { registerBatchCommand } from './batch-command.ts';
import { registerDlqCommand } from './dlq-command.ts';
import { ConfigError } from '../config/load.ts';

// package.json sits two levels up from both src/cli/main.ts and dist/cli/main.js.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program.name('switchyard').description('Self-hostable AI inference gateway and control plane').version(version).showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('run the gateway (embedded default: SQLite and two simulated replicas)')
  .option('-c, --config <file>', 'config file (default: $SWITCHYARD_CONFIG, else ./switchyard.yaml, else the built-in default)')
  .option('-p, --port <port>', 'port to listen on (default: $PORT or 8080)')
  .option('--host <host>', 'address to bind (default: $HOST or 127.0.0.1)')
  .option('--data-dir <dir>', 'data directory (default: $SWITCHYARD_DATA_DIR or ./.switchyard)')
  .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
  .action(async (flags: ServeFlags) => {
    try {
      await serve(flags);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
      } else {
        process.stderr.write(`switchyard: ${(err as Error).message}\n`);
      }
      process.exit(1);
    }
  });

program
  .command('check-config')
  .description('validate a config file and report every problem with its path')
  .argument('<file>', 'the YAML config file')
  .action(async (file: string) => {
    process.exitCode = await checkConfig(file);
  });

registerSimCommand(program);
registerKeysCommand(program);
registerSpendCommand(program);
registerBatchCommand(program);
registerDlqCommand(program);

await program.parseAsync(process.argv);
