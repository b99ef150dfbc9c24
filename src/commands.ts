import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, searchIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { DisposableSet, IDisposable } from '@lumino/disposable';

import { reportingFailures } from './actions/report';
import { CommandIDs, IModelVault } from './tokens';

/**
 * What the commands need of the sidebar.
 */
export interface ISidebarHandle {
  /**
   * Show the sidebar, optionally expanding one of its sections.
   */
  show(section?: 'violations' | 'set-me-up' | 'bundles'): void;
  /**
   * Show the Bundles section with the "Create bundle" wizard.
   */
  createBundle(): void;
  /**
   * Show the sidebar and focus the repository search box.
   */
  focusSearch(): void;
  /**
   * Whether a file with a scan is selected.
   */
  canRescan(): boolean;
  /**
   * Show the Verdicts section and rescan the selected file.
   *
   * @throws The server's error, for the command to report.
   */
  rescan(): Promise<void>;
}

/**
 * Options of `addCommands`.
 */
export interface IAddCommandsOptions {
  /**
   * The ModelVault service the commands act on.
   */
  model: IModelVault;
  /**
   * The sidebar, for the commands that show it.
   */
  sidebar?: ISidebarHandle;
  /**
   * The translation bundle.
   */
  trans: TranslationBundle;
}

const NO_ARGS = { args: { type: 'object' as const, properties: {} } };

/**
 * Register the ModelVault commands.
 *
 * @returns A disposable that removes the commands.
 */
export function addCommands(
  commands: CommandRegistry,
  options: IAddCommandsOptions
): IDisposable {
  const { model, sidebar, trans } = options;
  const disposables = new DisposableSet();

  disposables.add(
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh ModelVault'),
      caption: trans.__(
        'Refresh the ModelVault server status and repositories'
      ),
      icon: refreshIcon,
      describedBy: NO_ARGS,
      execute: () => model.refresh()
    })
  );

  if (!sidebar) {
    return disposables;
  }

  disposables.add(
    commands.addCommand(CommandIDs.open, {
      label: trans.__('Open ModelVault'),
      caption: trans.__('Show the ModelVault sidebar'),
      describedBy: NO_ARGS,
      execute: () => sidebar.show()
    })
  );
  disposables.add(
    commands.addCommand(CommandIDs.searchRepositories, {
      label: trans.__('Search ModelVault Repositories'),
      caption: trans.__('Show the ModelVault repositories and search them'),
      icon: searchIcon,
      describedBy: NO_ARGS,
      execute: () => sidebar.focusSearch()
    })
  );
  disposables.add(
    commands.addCommand(CommandIDs.showViolations, {
      label: trans.__('Show ModelVault Violations'),
      caption: trans.__('Show blocked downloads, flagged files and waivers'),
      describedBy: NO_ARGS,
      execute: () => sidebar.show('violations')
    })
  );
  disposables.add(
    commands.addCommand(CommandIDs.showSetMeUp, {
      label: trans.__('Set Me Up with ModelVault'),
      caption: trans.__(
        'Show client configuration snippets for a ModelVault repository'
      ),
      describedBy: NO_ARGS,
      execute: () => sidebar.show('set-me-up')
    })
  );
  disposables.add(
    commands.addCommand(CommandIDs.showBundles, {
      label: trans.__('Show ModelVault Bundles'),
      caption: trans.__('Show the release bundles of the vault'),
      describedBy: NO_ARGS,
      execute: () => sidebar.show('bundles')
    })
  );
  disposables.add(
    commands.addCommand(CommandIDs.createBundle, {
      label: trans.__('Create ModelVault Bundle…'),
      caption: trans.__(
        'Create a signed release bundle of Hub repos, checked against policy'
      ),
      describedBy: NO_ARGS,
      execute: () => sidebar.createBundle()
    })
  );
  disposables.add(
    commands.addCommand(CommandIDs.rescan, {
      label: trans.__('Rescan Selected ModelVault File'),
      caption: trans.__('Scan the selected file again (administrators)'),
      describedBy: NO_ARGS,
      isEnabled: () => sidebar.canRescan(),
      execute: reportingFailures(trans, () => sidebar.rescan())
    })
  );

  return disposables;
}
