export { ERROR_CODES, type ErrorCode } from './codes.ts';
export { CmsError, isCmsError, messageOf, type CmsErrorOptions, type SafeContext } from './cms-error.ts';
