#!/usr/bin/env node
// The `evidock` command. The sources are TypeScript run through tsx, so there is no build
// step between a checkout and a working command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../daemon/cli.ts');
const code = await main(process.argv);
// BullMQ and pg keep handles open; exit explicitly once the command is done.
process.exit(code);
