import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AcmeStack } from './acme-stack';
import { readAppSettings } from './app-settings';
import { PROJECT_ROOT } from './lambda-bundling';

/** The CDK app and its one stack. */
export interface AcmeApp {
  readonly app: App;
  readonly stack: AcmeStack;
}

/**
 * Builds the app from context (`certificatesFile`, `ca`, `schedule`, `notificationEmail`,
 * `alarmsWithoutSubscriber`, `stackName`) with cdk-nag's AWS Solutions checks registered, so any
 * unacknowledged finding fails synthesis.
 */
export function createApp(props: AppProps = {}, baseDir: string = PROJECT_ROOT): AcmeApp {
  const app = new App(props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const settings = readAppSettings(app.node, baseDir);
  const stack = new AcmeStack(app, settings.stackName, {
    description: 'acme-ari-aws: ACME certificates renewed with ARI, DNS-01 in Route 53, imported into ACM',
    certificates: {
      inventory: settings.inventory,
      inventorySource: settings.certificatesFile,
      ca: settings.ca,
      scheduleInterval: settings.scheduleInterval,
      ...(settings.notificationEmail ? { notificationEmail: settings.notificationEmail } : {}),
      alarmsWithoutSubscriber: settings.alarmsWithoutSubscriber,
    },
  });
  return { app, stack };
}
