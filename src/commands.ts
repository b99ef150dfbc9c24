import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { DisposableSet, IDisposable } from '@lumino/disposable';

import { CommandIDs, IModelVault } from './tokens';

/**
 * Options of `addCommands`.
 */
export interface IAddCommandsOptions {
  /**
   * The ModelVault service the commands act on.
   */
  model: IModelVault;
  /**
   * The translation bundle.
   */
  trans: TranslationBundle;
}

/**
 * Register the ModelVault commands.
 *
 * @returns A disposable that removes the commands.
 */
export function addCommands(
  commands: CommandRegistry,
  options: IAddCommandsOptions
): IDisposable {
  const { model, trans } = options;
  const disposables = new DisposableSet();

  disposables.add(
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh ModelVault'),
      caption: trans.__(
        'Refresh the ModelVault server status and repositories'
      ),
      icon: refreshIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => model.refresh()
    })
  );

  return disposables;
}
