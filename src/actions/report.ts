import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import { describeError } from '../api/request';

/**
 * Options of `reportingFailures`.
 */
export interface IReportingOptions {
  /**
   * Reject with the error after reporting it, for a caller that must know (a
   * form that stays open); by default the failure resolves to `undefined`, as
   * JupyterLab commands that report their own errors do.
   */
  rethrow?: boolean;
}

/**
 * Wrap the action of a command so that its failure is reported once, as an
 * error notification with the server's message ("ModelVault: <message>").
 */
export function reportingFailures<A, R>(
  trans: TranslationBundle,
  action: (args: A) => Promise<R>,
  options: IReportingOptions = {}
): (args: A) => Promise<R | undefined> {
  return async (args: A) => {
    try {
      return await action(args);
    } catch (error) {
      const message = trans.__('ModelVault: %1', describeError(error));
      console.error(message, error);
      Notification.error(message, { autoClose: 8000 });
      if (options.rethrow) {
        throw error;
      }
      return undefined;
    }
  };
}

/**
 * Turn the error a model keeps (its loads never reject) into a rejection, so
 * that a user-initiated load is reported like any other failed action.
 */
export function throwIfFailed(message: string | null): void {
  if (message) {
    throw new Error(message);
  }
}
