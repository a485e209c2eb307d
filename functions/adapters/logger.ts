/** One structured logger per function (Powertools). Never log task tokens, link secrets or webhook tokens. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'casebook' });
