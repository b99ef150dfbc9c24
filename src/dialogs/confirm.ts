import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * What to ask before an irreversible action.
 */
export interface IConfirmOptions {
  /**
   * The dialog title, e.g. "Promote bundle?".
   */
  title: string;
  /**
   * What will happen, in a sentence the user can check.
   */
  body: string;
  /**
   * The label of the warn (accept) button, e.g. "Promote".
   */
  action: string;
  /**
   * The translation bundle (for the Cancel label).
   */
  trans: TranslationBundle;
}

/**
 * Ask the user to confirm an irreversible action with a warn button.
 *
 * Cancel is the default button, so Enter or Escape never act by accident.
 *
 * @returns `true` only when the user clicked the warn button.
 */
export async function confirmAction(
  options: IConfirmOptions
): Promise<boolean> {
  const { title, body, action, trans } = options;
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: action })
    ],
    defaultButton: 0,
    hasClose: true
  });
  return result.button.accept && result.button.displayType === 'warn';
}

/**
 * The confirmations of ModelVault's irreversible actions, one wording each.
 */
export namespace Confirm {
  /**
   * Promote a bundle to its next environment (recorded and signed for good).
   */
  export function promotion(
    trans: TranslationBundle,
    name: string,
    version: string,
    environment: string
  ): Promise<boolean> {
    return confirmAction({
      title: trans.__('Promote bundle?'),
      body: trans.__(
        'Promote %1 %2 to %3? The promotion is signed and recorded for good: it cannot be undone.',
        name,
        version,
        environment
      ),
      action: trans.__('Promote to %1', environment),
      trans
    });
  }

  /**
   * Revoke a waiver (files it let through are blocked again).
   */
  export function waiverRevocation(
    trans: TranslationBundle,
    id: number,
    policy?: string
  ): Promise<boolean> {
    return confirmAction({
      title: trans.__('Revoke waiver?'),
      body: policy
        ? trans.__(
            'Revoke waiver %1 of policy "%2"? The files it let through are blocked again; a revoked waiver cannot be restored.',
            id,
            policy
          )
        : trans.__(
            'Revoke waiver %1? The files it let through are blocked again; a revoked waiver cannot be restored.',
            id
          ),
      action: trans.__('Revoke'),
      trans
    });
  }

  /**
   * Revoke a token (and the tokens it minted).
   */
  export function tokenRevocation(
    trans: TranslationBundle,
    name: string
  ): Promise<boolean> {
    return confirmAction({
      title: trans.__('Revoke token?'),
      body: trans.__(
        'Revoke token "%1"? Every client using it, and every token it minted, loses access at once. This cannot be undone.',
        name
      ),
      action: trans.__('Revoke'),
      trans
    });
  }

  /**
   * Delete something for good (a repository and everything in it, for example).
   */
  export function deletion(
    trans: TranslationBundle,
    what: string
  ): Promise<boolean> {
    return confirmAction({
      title: trans.__('Delete %1?', what),
      body: trans.__('Delete %1? This cannot be undone.', what),
      action: trans.__('Delete'),
      trans
    });
  }
}
