// Entry point of the `acme-ari` bin (bin/acme-ari.mjs runs it through tsx).
import { runCli } from './run';

const code = await runCli(process.argv.slice(2));
// Exit explicitly: idle keep-alive sockets of the AWS SDK must not hold the operator's shell.
process.exit(code);
