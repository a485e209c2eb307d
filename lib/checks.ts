import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * The checks every synth of the app runs, `npm run synth` and `cdk deploy` alike: cdk-nag's
 * AwsSolutions pack, so a finding nobody acknowledged with a reason next to its resource stops
 * the template before it reaches an account, not only in the tests.
 */
export function addCasebookChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
