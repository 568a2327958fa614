// `npm run demo` (and `npm start` without AWS credentials): the whole system on the local test bed, no account.
// Powertools is quieted before the handlers are imported: the demo prints its own progress lines instead.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// The SDK's Node-version notice is about AWS itself; the demo only talks to moto.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};

const { runDemo } = await import('../functions/cli/demo');
const { describeFailure } = await import('../functions/cli/failure');

const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: a listener must stay registered, or the test bed's own hook re-raises the signal and the
  // process dies before the bed's temporary files are removed. A second Ctrl-C exits at once.
  process.on(signal, () => {
    if (++signals > 1) process.exit(130);
    process.stderr.write(`\n${signal}: stopping everything the demo started…\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}

try {
  await runDemo({ out: (line) => process.stdout.write(`${line}\n`), signal: controller.signal });
  process.exit(0);
} catch (error) {
  if (controller.signal.aborted) {
    process.stderr.write('demo interrupted; the test bed is stopped\n');
    process.exit(130);
  }
  for (const line of describeFailure(error, process.argv.includes('--debug')))
    process.stderr.write(`${line}\n`);
  process.exit(1);
}
